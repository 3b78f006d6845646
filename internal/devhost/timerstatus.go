package devhost

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
)

// Where the host's StorageScheduleMonitor keeps timer status; devhost uses its
// own host id so it never touches a deployed app's status.
const (
	statusContainer = "azure-webjobs-hosts"
	statusHostID    = "devhost"
)

// statusStore persists timer schedule status in blob storage like the host, so
// that a devhost restart after missed occurrences produces a past-due run.
type statusStore struct {
	c *azblob.Client
}

func statusBlob(function string) string {
	return "timers/" + statusHostID + "/Host.Functions." + function + "/status"
}

// newStatusStore opens the blob service of the AzureWebJobsStorage setting; it
// returns nil (status kept in memory only) when the setting is absent.
func (h *Host) newStatusStore() (*statusStore, error) {
	const conn = "AzureWebJobsStorage"
	if cs, ok := h.settings.Get(conn); ok {
		if strings.EqualFold(strings.TrimSpace(strings.TrimSuffix(cs, ";")), "UseDevelopmentStorage=true") {
			cs = devStorage
		}
		c, err := azblob.NewClientFromConnectionString(cs, nil)
		if err != nil {
			return nil, fmt.Errorf("setting %s: not a usable storage connection string", conn)
		}
		return &statusStore{c: c}, nil
	}
	if uri, ok := h.settings.Get(conn + "__blobServiceUri"); ok {
		cred, err := azidentity.NewDefaultAzureCredential(nil)
		if err != nil {
			return nil, fmt.Errorf("setting %s__blobServiceUri: credential: %w", conn, err)
		}
		c, err := azblob.NewClient(uri, cred, nil)
		if err != nil {
			return nil, fmt.Errorf("setting %s__blobServiceUri: %w", conn, err)
		}
		return &statusStore{c: c}, nil
	}
	return nil, nil
}

// statusJSON is the blob's content, as the host writes it.
type statusJSON struct {
	Last        string `json:"Last"`
	Next        string `json:"Next"`
	LastUpdated string `json:"LastUpdated"`
}

// load returns the stored status, or nil when there is none yet.
func (s *statusStore) load(ctx context.Context, function string) (*TimerStatus, error) {
	resp, err := s.c.DownloadStream(ctx, statusContainer, statusBlob(function), nil)
	if bloberror.HasCode(err, bloberror.BlobNotFound, bloberror.ContainerNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read timer status of %s: %w", function, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return nil, fmt.Errorf("read timer status of %s: %w", function, err)
	}
	return decodeStatus(b)
}

// decodeStatus parses a stored status; an unreadable one counts as none, which
// the host also does rather than refusing to start the timer.
func decodeStatus(b []byte) (*TimerStatus, error) {
	var j statusJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, nil
	}
	parse := func(s string) (time.Time, bool) {
		if s == "" || strings.HasPrefix(s, "0001-01-01") {
			return time.Time{}, true
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		return t, err == nil
	}
	last, ok1 := parse(j.Last)
	next, ok2 := parse(j.Next)
	updated, ok3 := parse(j.LastUpdated)
	if !ok1 || !ok2 || !ok3 || next.IsZero() {
		return nil, nil
	}
	return &TimerStatus{Last: last, Next: next, LastUpdated: updated}, nil
}

func (s *statusStore) save(ctx context.Context, function string, st TimerStatus) error {
	b, _ := json.Marshal(statusJSON{Last: dotnetDateTime(st.Last), Next: dotnetDateTime(st.Next), LastUpdated: dotnetDateTime(st.LastUpdated)})
	_, err := s.c.UploadBuffer(ctx, statusContainer, statusBlob(function), b, nil)
	if bloberror.HasCode(err, bloberror.ContainerNotFound) {
		if _, cerr := s.c.CreateContainer(ctx, statusContainer, nil); cerr != nil && !bloberror.HasCode(cerr, bloberror.ContainerAlreadyExists) {
			return fmt.Errorf("save timer status of %s: %w", function, cerr)
		}
		_, err = s.c.UploadBuffer(ctx, statusContainer, statusBlob(function), b, nil)
	}
	if err != nil {
		return fmt.Errorf("save timer status of %s: %w", function, err)
	}
	return nil
}
