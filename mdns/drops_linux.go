package mdns

import (
	"net"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// socketDrops reads the kernel's drop counter for a socket (SO_MEMINFO,
// SK_MEMINFO_DROPS): datagrams lost because the receive buffer was full.
func socketDrops(pc net.PacketConn) (uint64, bool) {
	sc, ok := pc.(syscall.Conn)
	if !ok {
		return 0, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, false
	}
	var info [unix.SK_MEMINFO_VARS]uint32
	var gerr syscall.Errno
	err = rc.Control(func(fd uintptr) {
		size := uint32(unsafe.Sizeof(info))
		_, _, gerr = unix.Syscall6(unix.SYS_GETSOCKOPT, fd, unix.SOL_SOCKET, unix.SO_MEMINFO,
			uintptr(unsafe.Pointer(&info[0])), uintptr(unsafe.Pointer(&size)), 0)
	})
	if err != nil || gerr != 0 {
		return 0, false
	}
	return uint64(info[unix.SK_MEMINFO_DROPS]), true
}
