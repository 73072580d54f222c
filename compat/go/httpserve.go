// A net/http server for clients outside the kernel: it serves on port 8080 until it has
// answered two requests, then stops.
package main

import (
	"fmt"
	"net/http"
	"sync"
)

func main() {
	var mu sync.Mutex
	served := 0
	server := &http.Server{Addr: ":8080"}
	stop := make(chan bool, 1)
	server.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from go, %s\n", r.URL.Path)
		mu.Lock()
		served++
		if served == 2 {
			stop <- true
		}
		mu.Unlock()
	})
	go func() {
		<-stop
		server.Close()
	}()
	err := server.ListenAndServe()
	fmt.Println("served", served, "requests; server:", err)
}
