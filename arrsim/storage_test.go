package arrsim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/arrops/arrops/internal/azurite"
)

// storage is an Azurite blob service for conversion tests.
type storage struct {
	t      testing.TB
	az     *azurite.Instance
	client *azblob.Client
	cred   *azblob.SharedKeyCredential
}

// One Azurite serves the whole package: starting it takes seconds on the
// shared 2-core machine. Tests use distinct containers.
var shared struct {
	once sync.Once
	inst *azurite.Instance
	err  error
}

// TestMain stops the shared Azurite after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if shared.inst != nil {
		shared.inst.Stop()
	}
	os.Exit(code)
}

// newStorage returns the shared Azurite, started on first use. Like
// azuritetest.Start it skips when Azurite is not installed, except under CI.
func newStorage(t testing.TB) *storage {
	t.Helper()
	shared.once.Do(func() { shared.inst, shared.err = azurite.Start(context.Background(), azurite.Options{}) })
	if errors.Is(shared.err, azurite.ErrNotInstalled) && os.Getenv("CI") == "" {
		t.Skip(shared.err.Error())
	}
	if shared.err != nil {
		t.Fatalf("azurite: %v", shared.err)
	}
	az := shared.inst
	client, err := azblob.NewClientFromConnectionString(az.ConnectionString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := azblob.NewSharedKeyCredential(azurite.AccountName, azurite.AccountKey)
	if err != nil {
		t.Fatal(err)
	}
	return &storage{t: t, az: az, client: client, cred: cred}
}

// container creates a container and returns its URI.
func (s *storage) container(name string) string {
	s.t.Helper()
	if _, err := s.client.CreateContainer(context.Background(), name, nil); err != nil {
		s.t.Fatalf("create container %s: %v", name, err)
	}
	return strings.TrimSuffix(s.az.BlobEndpoint, "/") + "/" + name
}

func (s *storage) upload(container, blob string, data []byte) {
	s.t.Helper()
	if _, err := s.client.UploadBuffer(context.Background(), container, blob, data, nil); err != nil {
		s.t.Fatalf("upload %s/%s: %v", container, blob, err)
	}
}

func (s *storage) download(container, blob string) ([]byte, error) {
	resp, err := s.client.DownloadStream(context.Background(), container, blob, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// sas returns a container SAS (read, list, write, create) without leading '?'.
func (s *storage) sas(container string, perms sas.ContainerPermissions) string {
	s.t.Helper()
	qp, err := sas.BlobSignatureValues{
		Protocol:      sas.ProtocolHTTPSandHTTP,
		StartTime:     time.Now().Add(-time.Minute).UTC(),
		ExpiryTime:    time.Now().Add(time.Hour).UTC(),
		Permissions:   perms.String(),
		ContainerName: container,
	}.SignWithSharedKey(s.cred)
	if err != nil {
		s.t.Fatal(err)
	}
	return qp.Encode()
}

var rwlc = sas.ContainerPermissions{Read: true, List: true, Write: true, Create: true}

// sampleGLB is a minimal binary glTF header: magic "glTF", version 2, length.
var sampleGLB = append([]byte("glTF\x02\x00\x00\x00\x0c\x00\x00\x00"), bytes.Repeat([]byte{0x20}, 64)...)
