// Command echohandler is the custom handler devhost's tests run: it records every
// invocation it receives (one JSON line per request in $ECHO_RECORD) and answers
// according to the trigger text, so tests can drive success, failure, hangs and
// outputs.
//
//   - text containing FAIL: answer 500;
//   - text containing HANG on the first delivery: never answer (tests kill it);
//   - $ECHO_FAIL_BELOW=n: answer 500 while DequeueCount/DeliveryCount < n;
//   - text containing OUT: return two objects in Outputs.outQueue;
//   - text containing LEVELS: log a JSON ERROR line on stdout and answer 200
//     with a JSON WARN line and a plain line in Logs;
//   - text containing LEVELFAIL: log a JSON WARN line on stdout and answer 500
//     with a line in Logs (which the host drops);
//   - an HTTP trigger (Data.req): return an http output in Outputs.res.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

type record struct {
	Path    string          `json:"path"`
	Headers http.Header     `json:"headers"`
	Body    json.RawMessage `json:"body"`
	PID     int             `json:"pid"`
}

func main() {
	port := os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT")
	if port == "" {
		fmt.Fprintln(os.Stderr, "FUNCTIONS_CUSTOMHANDLER_PORT not set")
		os.Exit(2)
	}
	failBelow, _ := strconv.Atoi(os.Getenv("ECHO_FAIL_BELOW"))
	var mu sync.Mutex
	rec := func(r *http.Request, body []byte) {
		path := os.Getenv("ECHO_RECORD")
		if path == "" {
			return
		}
		line, _ := json.Marshal(record{Path: r.URL.Path, Headers: r.Header, Body: body, PID: os.Getpid()})
		mu.Lock()
		defer mu.Unlock()
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			fmt.Fprintln(os.Stderr, "record:", err)
			return
		}
		_, _ = f.Write(append(line, '\n'))
		_ = f.Close()
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/" {
			return // the host's readiness probe
		}
		body, _ := io.ReadAll(r.Body)
		rec(r, body)
		var inv struct {
			Data     map[string]json.RawMessage `json:"Data"`
			Metadata map[string]json.RawMessage `json:"Metadata"`
		}
		if err := json.Unmarshal(body, &inv); err != nil {
			http.Error(w, "bad invocation", http.StatusBadRequest)
			return
		}
		if _, ok := inv.Data["req"]; ok {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"Outputs":{"res":{"statusCode":200,"headers":{"Content-Type":"text/csv; charset=utf-8","Cache-Control":"no-store"},"body":"site,date,bytes\nsite-42,2026-11-23,18234\n"}},"Logs":["report: rows=1"],"ReturnValue":null}`))
			return
		}
		text := ""
		for _, v := range inv.Data {
			var s string
			if json.Unmarshal(v, &s) == nil {
				_ = json.Unmarshal([]byte(s), &s) // double-encoded
			}
			text += s
		}
		count := 0
		for _, k := range []string{"DequeueCount", "DeliveryCount"} {
			var s string
			if json.Unmarshal(inv.Metadata[k], &s) == nil {
				count, _ = strconv.Atoi(s)
			}
		}
		fmt.Printf("invoked %s count=%d\n", r.URL.Path, count)
		switch {
		case strings.Contains(text, "LEVELFAIL"):
			fmt.Println(`{"level":"WARN","msg":"failed, on stdout"}`)
			http.Error(w, `{"Logs":["{\"level\":\"WARN\",\"msg\":\"in a failed reply\"}"]}`, http.StatusInternalServerError)
			return
		case strings.Contains(text, "LEVELS"):
			fmt.Println(`{"level":"ERROR","msg":"on stdout"}`)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"Outputs":{},"Logs":["{\"level\":\"WARN\",\"msg\":\"in Logs\"}","plain line"],"ReturnValue":null}`))
			return
		case strings.Contains(text, "HANG") && count <= 1:
			time.Sleep(time.Hour)
		case strings.Contains(text, "FAIL"), failBelow > 0 && count < failBelow:
			fmt.Fprintln(os.Stderr, "failing on purpose")
			http.Error(w, `{"Logs":["failing"]}`, http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if strings.Contains(text, "OUT") {
			_, _ = w.Write([]byte(`{"Outputs":{"outQueue":[{"action":"ingest","n":1},{"action":"ingest","n":2}]},"Logs":["queued 2"],"ReturnValue":null}`))
			return
		}
		_, _ = w.Write([]byte(`{"Outputs":{},"Logs":["done ` + r.URL.Path + `"],"ReturnValue":null}`))
	})
	fmt.Println("echohandler listening on", port)
	if err := http.ListenAndServe("127.0.0.1:"+port, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
