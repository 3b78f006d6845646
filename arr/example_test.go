package arr_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/arrops/arrops/arr"
)

// Start a session with a deterministic id (a retried create is harmless), wait
// until it is Ready, and stop it when done so that billing ends.
func ExampleClient_CreateSession() {
	cred, err := arr.NewAccountKeyCredential(os.Getenv("ARR_ACCOUNT_KEY"))
	if err != nil {
		log.Fatal(err)
	}
	c, err := arr.NewClient("https://remoterendering.eastus.mixedreality.azure.com",
		os.Getenv("ARR_ACCOUNT_ID"), cred, nil)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.CreateSession(ctx, "demo-session-1", arr.SessionSettings{MaxLeaseTimeMinutes: 30, Size: "Standard"}, nil); err != nil {
		log.Fatal(err)
	}
	s, err := c.WaitForSession(ctx, "demo-session-1", &arr.WaitForSessionOptions{Until: []arr.SessionStatus{arr.SessionStatusReady}})
	if err != nil {
		log.Fatal(err)
	}
	host, _ := s.Host()
	handshake, _, _ := s.Ports()
	fmt.Println(host, handshake)
	if _, err := c.StopSession(ctx, "demo-session-1", nil); err != nil {
		log.Fatal(err)
	}
}
