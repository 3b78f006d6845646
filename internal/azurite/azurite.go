// Package azurite starts and stops the Azurite storage emulator (blob, queue and
// table services) as a child process on free loopback ports. Tests, the local
// stack (make run) and the load scenarios use it so that every storage call in
// arrops goes to a real Azure Storage implementation rather than a fake.
package azurite

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/arrops/arrops/internal/modroot"
)

// Azurite's well-known development account. It is public and documented, so it
// is not a secret; real deployments use managed identity instead.
const (
	AccountName = "devstoreaccount1"
	AccountKey  = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// Options configure Start. The zero value picks free ports and keeps data in memory.
type Options struct {
	// Bin is the azurite executable; default node_modules/.bin/azurite under the
	// module root, or AZURITE_BIN.
	Bin string
	// BlobPort, QueuePort, TablePort: 0 picks a free port.
	BlobPort, QueuePort, TablePort int
	// Location, when set, persists data there instead of in memory.
	Location string
	// Log receives Azurite's own output; nil discards it.
	Log io.Writer
}

// Instance is a running Azurite.
type Instance struct {
	BlobEndpoint, QueueEndpoint, TableEndpoint string
	BlobPort, QueuePort, TablePort             int

	cmd  *exec.Cmd
	done chan struct{}
	once sync.Once
}

// ConnectionString returns a storage connection string for the instance.
func (i *Instance) ConnectionString() string {
	return fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=%s;QueueEndpoint=%s;TableEndpoint=%s;",
		AccountName, AccountKey, i.BlobEndpoint, i.QueueEndpoint, i.TableEndpoint)
}

// ErrNotInstalled reports that the azurite executable could not be found.
var ErrNotInstalled = errors.New("azurite is not installed (run `npm ci` in the repository root)")

// FindBin locates the azurite executable.
func FindBin() (string, error) {
	if p := os.Getenv("AZURITE_BIN"); p != "" {
		return p, nil
	}
	root, err := modroot.Dir()
	if err != nil {
		return "", err
	}
	p := filepath.Join(root, "node_modules", ".bin", "azurite")
	if _, err := os.Stat(p); err != nil {
		if p, err := exec.LookPath("azurite"); err == nil {
			return p, nil
		}
		return "", ErrNotInstalled
	}
	return p, nil
}

var listenRe = regexp.MustCompile(`Azurite (Blob|Queue|Table) service is successfully listening at (http://127\.0\.0\.1:(\d+))`)

// Start launches Azurite and waits until all three services listen.
func Start(ctx context.Context, opts Options) (*Instance, error) {
	bin := opts.Bin
	if bin == "" {
		var err error
		if bin, err = FindBin(); err != nil {
			return nil, err
		}
	}
	args := []string{"--disableTelemetry", "--skipApiVersionCheck", "--loose",
		"--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
		"--blobPort", fmt.Sprint(opts.BlobPort), "--queuePort", fmt.Sprint(opts.QueuePort), "--tablePort", fmt.Sprint(opts.TablePort)}
	if opts.Location != "" {
		args = append(args, "--location", opts.Location)
	} else {
		args = append(args, "--inMemoryPersistence")
	}
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Dir = os.TempDir()
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("azurite: start %s: %w", bin, err)
	}
	inst := &Instance{cmd: cmd, done: make(chan struct{})}
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		seen := map[string]bool{}
		var tail []string
		for sc.Scan() {
			line := sc.Text()
			if opts.Log != nil {
				fmt.Fprintln(opts.Log, line)
			}
			if len(seen) < 3 {
				tail = append(tail, line)
				if m := listenRe.FindStringSubmatch(line); m != nil {
					var port int
					fmt.Sscan(m[3], &port)
					switch m[1] {
					case "Blob":
						inst.BlobEndpoint, inst.BlobPort = m[2]+"/"+AccountName, port
					case "Queue":
						inst.QueueEndpoint, inst.QueuePort = m[2]+"/"+AccountName, port
					case "Table":
						inst.TableEndpoint, inst.TablePort = m[2]+"/"+AccountName, port
					}
					seen[m[1]] = true
					if len(seen) == 3 {
						ready <- nil
					}
				}
			}
		}
		if len(seen) < 3 {
			ready <- fmt.Errorf("azurite exited before listening: %s", strings.Join(tail, " | "))
		}
		cmd.Wait()
		close(inst.done)
	}()
	timer := time.NewTimer(60 * time.Second)
	defer timer.Stop()
	select {
	case err := <-ready:
		if err != nil {
			inst.Stop()
			return nil, err
		}
		return inst, nil
	case <-ctx.Done():
		inst.Stop()
		return nil, ctx.Err()
	case <-timer.C:
		inst.Stop()
		return nil, errors.New("azurite: not listening after 60s")
	}
}

// Stop terminates Azurite (the whole process group: npm shims spawn node) and
// waits for it to exit. It is safe to call more than once.
func (i *Instance) Stop() {
	i.once.Do(func() {
		if i.cmd.Process != nil {
			syscall.Kill(-i.cmd.Process.Pid, syscall.SIGTERM)
			select {
			case <-i.done:
			case <-time.After(5 * time.Second):
				syscall.Kill(-i.cmd.Process.Pid, syscall.SIGKILL)
				<-i.done
			}
		}
	})
}

// Done is closed when the process has exited.
func (i *Instance) Done() <-chan struct{} { return i.done }
