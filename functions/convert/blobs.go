package convert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/config"
)

// Blobs reads side files from the input container and ARR's result files
// from the output container with the app's own access (the connection
// string's key locally, its identity in Azure: Storage Blob Data Reader on
// the input, Contributor on the output). It implements functions.BlobReader.
type Blobs struct{ c *azblob.Client }

// NewBlobs returns a reader for the app's storage account.
func NewBlobs(cfg *config.Config, cred azcore.TokenCredential) (*Blobs, error) {
	if cfg.StorageConnectionString != "" {
		c, err := azblob.NewClientFromConnectionString(cfg.StorageConnectionString, nil)
		if err != nil {
			return nil, fmt.Errorf("blob client: %w", err)
		}
		return &Blobs{c}, nil
	}
	if cred == nil {
		return nil, fmt.Errorf("blob client: no connection string and no app identity")
	}
	c, err := azblob.NewClient(strings.TrimSuffix(cfg.BlobServiceURL, "/")+"/", cred, nil)
	if err != nil {
		return nil, fmt.Errorf("blob client: %w", err)
	}
	return &Blobs{c}, nil
}

// ReadBlob implements functions.BlobReader. Errors carry an arrops code.
func (b *Blobs) ReadBlob(ctx context.Context, container, name string, limit int64) ([]byte, error) {
	resp, err := b.c.DownloadStream(ctx, container, name, &azblob.DownloadStreamOptions{Range: blob.HTTPRange{Count: limit + 1}})
	if err != nil {
		return nil, blobError(err, container, name)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return nil, fmt.Errorf("read %s/%s: %w", container, name, err)
	}
	if int64(buf.Len()) > limit {
		return nil, arrops.Errorf(arrops.EINVALID, "%s/%s is larger than %d bytes", container, name, limit)
	}
	return buf.Bytes(), nil
}

// BlobProperties implements functions.BlobReader.
func (b *Blobs) BlobProperties(ctx context.Context, container, name string) (string, int64, error) {
	p, err := b.c.ServiceClient().NewContainerClient(container).NewBlobClient(name).GetProperties(ctx, nil)
	if err != nil {
		return "", 0, blobError(err, container, name)
	}
	var etag string
	var size int64
	if p.ETag != nil {
		etag = strings.Trim(string(*p.ETag), `"`)
	}
	if p.ContentLength != nil {
		size = *p.ContentLength
	}
	return etag, size, nil
}

// blobError classifies a blob storage failure as the store adapter does
// for tables (README, "Error contract"): no such blob or container is
// ENOTFOUND; 401/403 (the app's role) EUNAUTHORIZED; 408, 429, 5xx and
// network failures EINTERNAL; other 4xx EINVALID.
func blobError(err error, container, name string) error {
	err = fmt.Errorf("read %s/%s: %w", container, name, err)
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return arrops.WithCode(arrops.EINTERNAL, err)
	}
	switch s := re.StatusCode; {
	case s == http.StatusNotFound:
		return arrops.WithCode(arrops.ENOTFOUND, err)
	case s == http.StatusUnauthorized, s == http.StatusForbidden:
		return arrops.WithCode(arrops.EUNAUTHORIZED, err)
	case s == http.StatusRequestTimeout, s == http.StatusTooManyRequests, s >= 500:
		return arrops.WithCode(arrops.EINTERNAL, err)
	case s >= 400:
		return arrops.WithCode(arrops.EINVALID, err)
	}
	return arrops.WithCode(arrops.EINTERNAL, err)
}
