// net/http on loopback: a server and a client in the same program, GET and POST, a 404, and a
// clean shutdown.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
)

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s\n", r.URL.Query().Get("name"))
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Length", fmt.Sprint(len(body)))
		w.Write([]byte(strings.ToUpper(string(body))))
	})
	listener, err := net.Listen("tcp", "127.0.0.1:8081")
	if err != nil {
		fmt.Println("listen:", err)
		return
	}
	server := &http.Server{Handler: mux}
	go server.Serve(listener)

	client := &http.Client{}
	for _, name := range []string{"kernkit", "go"} {
		response, err := client.Get("http://127.0.0.1:8081/hello?name=" + name)
		if err != nil {
			fmt.Println("get:", err)
			return
		}
		body, _ := io.ReadAll(response.Body)
		response.Body.Close()
		fmt.Print(response.StatusCode, " ", string(body))
	}
	response, err := client.Post("http://127.0.0.1:8081/echo", "text/plain", strings.NewReader("posted body"))
	if err != nil {
		fmt.Println("post:", err)
		return
	}
	body, _ := io.ReadAll(response.Body)
	response.Body.Close()
	fmt.Println(response.StatusCode, response.Header.Get("X-Length"), string(body))
	missing, err := client.Get("http://127.0.0.1:8081/missing")
	if err == nil {
		missing.Body.Close()
		fmt.Println("missing:", missing.StatusCode)
	}
	fmt.Println("shutdown:", server.Shutdown(context.Background()))
}
