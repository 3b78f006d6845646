// Command standin stands in for the real custom handler in cmd/package's
// tests: any linux/amd64 main package will do for checking the zip layout,
// and one that imports only os cross-builds in a moment from the build cache.
package main

import "os"

func main() {
	if os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT") == "" {
		os.Exit(2)
	}
}
