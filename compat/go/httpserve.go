// A net/http server for clients outside the kernel: it serves on port 8080 until it has
// answered two requests, then shuts down gracefully (the second answer is sent first).
package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
)

func main() {
	var mu sync.Mutex
	served := 0
	server := &http.Server{Addr: ":8080"}
	stop, done := make(chan bool, 1), make(chan error)
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
		done <- server.Shutdown(context.Background())
	}()
	err := server.ListenAndServe()
	fmt.Println("served", served, "requests; server:", err, "; shutdown:", <-done)
}
