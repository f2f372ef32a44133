// Reference: tcp(7), TCP_USER_TIMEOUT (RFC 5482): how long sent data may stay unacknowledged before the
// kernel drops the connection.

package train

import (
	"fmt"
	"net"
	"syscall"
	"time"
)

// setUserTimeout bounds how long a write to a peer host that stopped
// answering can hang: without it Linux retransmits for about 15 minutes.
func setUserTimeout(tc *net.TCPConn, d time.Duration) error {
	rc, err := tc.SyscallConn()
	if err != nil {
		return fmt.Errorf("train: tcp collective: %s: %w", tc.RemoteAddr(), err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, 0x12 /* TCP_USER_TIMEOUT */, int(d.Milliseconds()))
	}); err != nil {
		serr = err
	}
	if serr != nil {
		return fmt.Errorf("train: tcp collective: TCP_USER_TIMEOUT on %s: %w", tc.RemoteAddr(), serr)
	}
	return nil
}
