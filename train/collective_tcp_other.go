// Reference: tcp(7); TCP_USER_TIMEOUT is Linux's, so elsewhere only the keepalive probes bound a silent peer.

//go:build !linux

package train

import (
	"net"
	"time"
)

// setUserTimeout does nothing where the option is missing: the keepalive
// probes still notice an idle connection to a vanished host.
func setUserTimeout(*net.TCPConn, time.Duration) error { return nil }
