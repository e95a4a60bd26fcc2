// phoenix-lab stand-in for portainer/agent: what the Portainer agent does for a standalone Docker host, without its
// TLS and signature checks. It answers GET /ping with 204 and forwards every other request to the Docker Engine API
// on /var/run/docker.sock (the socket the agent container mounts), so the Portainer server (the lab's double runs
// Compose with DOCKER_HOST=tcp://<agent>:9001) deploys onto this guest's Docker for real. Plain HTTP; standard
// library only. Built by scripts/build-go-tool.sh stand-in-portainer-agent into the agent's stand-in image.
package main

import (
	"context"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"strings"
)

func main() {
	socket := os.Getenv("DOCKER_SOCKET")
	if socket == "" {
		socket = "/var/run/docker.sock"
	}
	ports := strings.Fields(os.Getenv("STAND_IN_PORTS"))
	if len(ports) == 0 {
		ports = []string{"9001"}
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme = "http"
			r.Out.URL.Host = "docker"
		},
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, "unix", socket)
			},
		},
		FlushInterval: -1,
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ping" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		proxy.ServeHTTP(w, r)
	})
	log.Printf("stand-in for %s: Docker API of %s on port(s) %s", os.Getenv("STAND_IN_FOR"), socket, strings.Join(ports, " "))
	errs := make(chan error, len(ports))
	for _, p := range ports {
		go func(p string) { errs <- http.ListenAndServe(":"+p, handler) }(p)
	}
	log.Fatal(<-errs)
}
