package arrsim

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/arrops/arrops/internal/azurite"
	"github.com/arrops/arrops/internal/azuritetest"
)

// storage is an Azurite blob service for conversion tests.
type storage struct {
	t      testing.TB
	az     *azurite.Instance
	client *azblob.Client
	cred   *azblob.SharedKeyCredential
}

// TestMain stops the package's shared Azurite: one serves the whole package,
// as starting it takes seconds on the shared 2-core machine. Tests use
// distinct containers.
func TestMain(m *testing.M) { azuritetest.Main(m) }

// newStorage returns the shared Azurite, started on first use (skipped under
// -short, or when Azurite is not installed outside CI).
func newStorage(t testing.TB) *storage {
	t.Helper()
	az := azuritetest.Shared(t).Instance
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
