// Command package builds arrops' deployment zip for Azure Functions:
//
//	go run ./cmd/package -o dist/arrops.zip
//
// It cross-builds the custom handler (CGO_ENABLED=0 GOOS=linux GOARCH=amd64)
// and writes a reproducible zip holding only what the host reads: handler
// (mode 0755), host.json and <function>/function.json for each folder under
// functions/. Entries are sorted, deflated and dated 1980-01-01, so the same
// sources give the same bytes. -list prints the listing; -dir also writes
// the same files unpacked (for azd, which zips a folder itself).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/arrops/arrops/internal/infracheck"
	"github.com/arrops/arrops/internal/modroot"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "package:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("package", flag.ContinueOnError)
	fs.SetOutput(stdout)
	var (
		out        = fs.String("o", "dist/arrops.zip", "zip to write (relative to the module root)")
		handlerPkg = fs.String("handler-pkg", "./handler", "main package of the custom handler (relative to the module root)")
		root       = fs.String("root", "", "module root (default: the nearest directory above the working directory holding go.mod)")
		list       = fs.Bool("list", false, "print the zip's listing")
		dir        = fs.String("dir", "", "also write the files unpacked into this folder (replaced if it holds an earlier package)")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if *root == "" {
		r, err := modroot.Dir()
		if err != nil {
			return err
		}
		*root = r
	}
	files, err := collect(*root)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "arrops-package-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	handler, err := buildHandler(ctx, *root, *handlerPkg, tmp, getenv)
	if err != nil {
		return err
	}
	files = append(files, entry{Name: HandlerName, Path: handler, Mode: 0o755})
	sortEntries(files)
	zipPath := abs(*root, *out)
	if err := writeZipFile(zipPath, files); err != nil {
		return err
	}
	if *dir != "" {
		if err := writeDir(abs(*root, *dir), files); err != nil {
			return err
		}
	}
	// Check what was written, the same way the tests do: a broken layout
	// fails here, not at the first cold start in Azure.
	problems, err := infracheck.CheckZip(zipPath, *root)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		msg := make([]string, len(problems))
		for i, p := range problems {
			msg[i] = p.String()
		}
		return fmt.Errorf("%s is not a valid deployment:\n%s", zipPath, strings.Join(msg, "\n"))
	}
	if *list {
		return printListing(stdout, zipPath)
	}
	fmt.Fprintf(stdout, "wrote %s (%d entries)\n", zipPath, len(files))
	return nil
}

var errNotPackage = errors.New("is not empty and holds no earlier package (refusing to replace it)")
