package config

import (
	"fmt"
	"net"
	"strings"
)

// listenWarning warns when service.listen is not a loopback address: /readyz
// then serves the whole report to whoever can reach the machine.
func listenWarning(listen string) string {
	if listen == "" {
		return ""
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return "" // the daemon says why it cannot listen there
	}
	if isLoopback(host) {
		return ""
	}
	where := fmt.Sprintf("%q", host)
	if host == "" {
		where = "every address"
	}
	return fmt.Sprintf("service.listen %s listens on %s, not on loopback: /readyz then shows the whole report (agent version, operating system, every check) to the network", listen, where)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
