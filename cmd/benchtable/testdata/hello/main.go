// Command hello is the yardstick for the handler's start-up: the smallest Go
// HTTP server that does what the Functions host waits for (listen on
// 127.0.0.1:$FUNCTIONS_CUSTOMHANDLER_PORT and answer GET / with 200).
package main

import (
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	if err := http.ListenAndServe("127.0.0.1:"+os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT"), nil); err != nil {
		os.Stdout.WriteString("hello: " + err.Error() + "\n")
		os.Exit(1)
	}
}
