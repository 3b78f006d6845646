package convert

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	azcontainer "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/arrops/arrops/arr"
	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/internal/connstr"
)

// Access hands ARR what it needs to read the input and write the output: the
// container URLs and, unless the storage account is linked to the ARR account,
// short-lived container SAS tokens (read+list on input, write on output).
// SAS values only ever live in arr.SAS, which never prints them.
type Access struct {
	mode     string
	blobURL  string // blob service endpoint, no trailing slash
	expiry   time.Duration
	shared   *azblob.SharedKeyCredential // accountSas
	svc      *service.Client             // userDelegationSas
	mu       sync.Mutex
	udc      *service.UserDelegationCredential
	udcUntil time.Time
}

// NewAccess builds the access mode chosen by ARR_STORAGE_ACCESS. cred is the
// app's identity (used for user-delegation SAS); it may be nil otherwise.
func NewAccess(cfg *config.Config, cred azcore.TokenCredential) (*Access, error) {
	a := &Access{mode: cfg.StorageAccess, blobURL: cfg.BlobServiceURL, expiry: cfg.SASExpiry}
	if cfg.StorageConnectionString != "" {
		st, err := connstr.ParseStorage(cfg.StorageConnectionString)
		if err != nil {
			return nil, fmt.Errorf("setting AzureWebJobsStorage: %w", err)
		}
		if a.blobURL == "" {
			a.blobURL = st.BlobEndpoint
		}
		if a.mode == config.AccessAccountSas {
			if a.shared, err = azblob.NewSharedKeyCredential(st.AccountName, st.AccountKey); err != nil {
				return nil, fmt.Errorf("storage shared key: %w", err)
			}
		}
	}
	if a.mode == config.AccessUserDelegationSas {
		if cred == nil {
			return nil, fmt.Errorf("user-delegation SAS needs the app identity")
		}
		var err error
		if a.svc, err = service.NewClient(a.blobURL+"/", cred, nil); err != nil {
			return nil, fmt.Errorf("blob service client: %w", err)
		}
	}
	return a, nil
}

// ContainerURL returns the URL of a container.
func (a *Access) ContainerURL(container string) string { return a.blobURL + "/" + container }

// ReadList returns a read+list SAS for container (empty when linked).
func (a *Access) ReadList(ctx context.Context, container string, now time.Time) (arr.SAS, error) {
	return a.sign(ctx, container, sas.ContainerPermissions{Read: true, List: true}, now)
}

// Write returns a write SAS for container (empty when linked).
func (a *Access) Write(ctx context.Context, container string, now time.Time) (arr.SAS, error) {
	return a.sign(ctx, container, sas.ContainerPermissions{Write: true, Create: true, List: true, Read: true}, now)
}

func (a *Access) sign(ctx context.Context, container string, perms sas.ContainerPermissions, now time.Time) (arr.SAS, error) {
	v := sas.BlobSignatureValues{
		Protocol:      sas.ProtocolHTTPSandHTTP,
		StartTime:     now.Add(-5 * time.Minute), // clock skew between us and storage
		ExpiryTime:    now.Add(a.expiry),
		Permissions:   perms.String(),
		ContainerName: container,
	}
	switch a.mode {
	case config.AccessLinked:
		return "", nil
	case config.AccessAccountSas:
		q, err := v.SignWithSharedKey(a.shared)
		if err != nil {
			return "", fmt.Errorf("sign SAS for %s: %w", container, err)
		}
		return arr.SAS(q.Encode()), nil
	default:
		udc, err := a.delegation(ctx, now)
		if err != nil {
			return "", err
		}
		q, err := v.SignWithUserDelegation(udc)
		if err != nil {
			return "", fmt.Errorf("sign user-delegation SAS for %s: %w", container, err)
		}
		return arr.SAS(q.Encode()), nil
	}
}

// delegation returns a user-delegation key valid past the SAS expiry, asking
// storage for a new one only when the cached key would run out first.
func (a *Access) delegation(ctx context.Context, now time.Time) (*service.UserDelegationCredential, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.udc != nil && now.Add(a.expiry).Before(a.udcUntil) {
		return a.udc, nil
	}
	until := now.Add(a.expiry + 6*time.Hour)
	udc, err := a.svc.GetUserDelegationCredential(ctx, service.KeyInfo{
		Start:  to.Ptr(now.Add(-5 * time.Minute).UTC().Format(sas.TimeFormat)),
		Expiry: to.Ptr(until.UTC().Format(sas.TimeFormat)),
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("get user delegation key (needs Storage Blob Delegator): %w", err)
	}
	a.udc, a.udcUntil = udc, until
	return udc, nil
}

// Reasons CheckOutput gives for an output container ARR could not write to.
const (
	FailOutputMissing     = "OutputContainerNotFound"
	FailOutputNotWritable = "OutputContainerNotWritable"
)

// CheckOutput asks storage whether the output container exists (with the
// app's own credential: the account key or its identity) and accepts the
// write SAS ARR will be handed, so that a missing container is a clear
// failure now rather than an opaque SAS error from ARR after the conversion
// ran. A permanent problem comes back as code and reason; err is for
// failures worth retrying (storage down, 5xx). Linked storage (no SAS) is
// not checked: ARR uses its own identity there.
//
// Errors never carry the request URL: it may hold the SAS.
func (a *Access) CheckOutput(ctx context.Context, container string, writeSAS arr.SAS) (code, reason string, err error) {
	var own *azcontainer.Client
	switch {
	case a.mode == config.AccessLinked || writeSAS == "":
		return "", "", nil
	case a.shared != nil:
		own, err = azcontainer.NewClientWithSharedKeyCredential(a.ContainerURL(container), a.shared, nil)
	case a.svc != nil:
		own = a.svc.NewContainerClient(container)
	}
	if err != nil {
		return "", "", fmt.Errorf("output container %s: client: %w", container, err)
	}
	if own != nil {
		// Listing alone does not prove the container exists (Azurite lists
		// a missing container as empty).
		_, err = own.GetProperties(ctx, nil)
		if code, reason, err := a.outputProblem(container, "", err); code != "" || err != nil {
			return code, reason, err
		}
	}
	withSAS, err := azcontainer.NewClientWithNoCredential(a.ContainerURL(container)+"?"+strings.TrimPrefix(string(writeSAS), "?"), nil)
	if err != nil {
		return "", "", fmt.Errorf("output container %s: client: %v", container, errors.Unwrap(err))
	}
	_, err = withSAS.NewListBlobsFlatPager(&azcontainer.ListBlobsFlatOptions{MaxResults: to.Ptr(int32(1))}).NextPage(ctx)
	return a.outputProblem(container, " write SAS", err)
}

// outputProblem sorts a storage answer about the output container into a
// permanent problem (code, reason) or a transient error, without the URL.
func (a *Access) outputProblem(container, what string, err error) (code, reason string, _ error) {
	var re *azcore.ResponseError
	switch {
	case err == nil:
		return "", "", nil
	case bloberror.HasCode(err, bloberror.ContainerNotFound) || errors.As(err, &re) && re.StatusCode == http.StatusNotFound:
		return FailOutputMissing, fmt.Sprintf("output container %q does not exist at %s: create it (setting ARR_OUTPUT_CONTAINER names it) and upload again", container, a.blobURL), nil
	case errors.As(err, &re) && (re.StatusCode == http.StatusForbidden || re.StatusCode == http.StatusUnauthorized):
		return FailOutputNotWritable, fmt.Sprintf("output container %q refuses the %s%s (HTTP %d %s)", container, a.mode, what, re.StatusCode, re.ErrorCode), nil
	case errors.As(err, &re):
		return "", "", fmt.Errorf("check output container %s: HTTP %d %s", container, re.StatusCode, re.ErrorCode)
	default:
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the url.Error's text holds the URL, and so the SAS
		}
		return "", "", fmt.Errorf("check output container %s: %v", container, err)
	}
}
