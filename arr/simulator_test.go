package arr_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/arrops/arrops/arr"
	"github.com/arrops/arrops/arrsim"
	"github.com/arrops/arrops/internal/azuritetest"
)

// simClient serves an arrsim simulator on 127.0.0.1 (STS on the same address) and
// returns a client for it. Simulated time runs 100x faster.
func simClient(t *testing.T, o arrsim.Options) (*arr.Client, *arrsim.Server) {
	t.Helper()
	o.AccountID, o.AccountKey = account, accountKey
	if o.ClockSpeed == 0 {
		o.ClockSpeed = 100
	}
	sim := arrsim.New(o)
	t.Cleanup(sim.Close)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	c := newClient(t, srv.URL, accountKey, func(co *arr.ClientOptions) {
		co.StandardSessionPollInterval = 20 * time.Millisecond
		co.PremiumSessionPollInterval = 20 * time.Millisecond
		co.ConversionPollInterval = 20 * time.Millisecond
		co.Retry = policy.RetryOptions{RetryDelay: 10 * time.Millisecond}
	})
	return c, sim
}

func TestSimulatorSessionLifecycle(t *testing.T) {
	for _, style2021 := range []bool{false, true} {
		name := "2022 style"
		if style2021 {
			name = "2021 nulls"
		}
		t.Run(name, func(t *testing.T) {
			c, sim := simClient(t, arrsim.Options{ReadyAfter: 10 * time.Second, Style2021Nulls: style2021})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()

			cr, err := c.CreateSession(ctx, "sim-session-1", arr.SessionSettings{MaxLeaseTimeMinutes: 10, Size: "standard"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !cr.Created || cr.Status != arr.SessionStatusStarting || cr.Size != arr.SessionSizeStandard {
				t.Errorf("create: %+v", cr)
			}
			if _, _, ok := cr.Ports(); ok {
				t.Error("ports known while Starting")
			}
			if _, ok := cr.Host(); ok {
				t.Error("host known while Starting")
			}
			// A retried create with the same settings is not a new session.
			again, err := c.CreateSession(ctx, "sim-session-1", arr.SessionSettings{MaxLeaseTimeMinutes: 10, Size: "Standard"}, nil)
			if err != nil || again.Created {
				t.Errorf("retried create: %v created=%v", err, again.Created)
			}
			// Different settings under the same id: 409.
			_, err = c.CreateSession(ctx, "sim-session-1", arr.SessionSettings{MaxLeaseTimeMinutes: 11, Size: "Standard"}, nil)
			var re *arr.ResponseError
			if !errors.As(err, &re) || re.StatusCode != 409 || re.ErrorCode != "Conflict" || re.MSCV == "" {
				t.Errorf("conflicting create: %v", err)
			}

			ready, err := c.WaitForSession(ctx, "sim-session-1", &arr.WaitForSessionOptions{Until: []arr.SessionStatus{arr.SessionStatusReady}})
			if err != nil {
				t.Fatal(err)
			}
			host, ok := ready.Host()
			hp, ip, pok := ready.Ports()
			if !ok || !pok || !strings.Contains(host, "remoterendering") || hp < 49152 || ip < 49152 {
				t.Errorf("ready session: host %q %v ports %d %d %v", host, ok, hp, ip, pok)
			}

			up, err := c.UpdateSession(ctx, "sim-session-1", 20, nil)
			if err != nil || up.MaxLeaseTimeMinutes == nil || *up.MaxLeaseTimeMinutes != 20 {
				t.Errorf("extend: %v %+v", err, up)
			}
			_, err = c.UpdateSession(ctx, "sim-session-1", 15, nil) // not larger: 422
			if !errors.As(err, &re) || re.StatusCode != 422 {
				t.Errorf("shrinking lease: %v", err)
			}

			var listed []string
			for p := c.NewListSessionsPager(nil); p.More(); {
				page, err := p.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range page.Sessions {
					listed = append(listed, s.ID)
				}
			}
			if len(listed) != 1 || listed[0] != "sim-session-1" {
				t.Errorf("listed %v", listed)
			}

			if _, err := c.StopSession(ctx, "sim-session-1", nil); err != nil {
				t.Fatal(err)
			}
			got, err := c.GetSession(ctx, "sim-session-1", nil)
			if err != nil || got.Status != arr.SessionStatusStopped {
				t.Fatalf("after stop: %v %q", err, got.Status)
			}
			if _, _, ok := got.Ports(); ok {
				t.Error("ports still known after stop")
			}
			if got.CreationTime == nil || got.CreationTime.IsZero() {
				t.Error("creationTime not decoded")
			}
			if st := sim.Stats(); st.TokenCalls != 1 {
				t.Errorf("STS token fetched %d times, want exactly 1", st.TokenCalls)
			}
		})
	}
}

func TestSimulatorConversion(t *testing.T) {
	az := azuritetest.Start(t)
	bc, err := azblob.NewClientFromConnectionString(az.ConnectionString, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := bc.CreateContainer(ctx, "arrconv", nil); err != nil {
		t.Fatal(err)
	}
	glb := append([]byte("glTF\x02\x00\x00\x00\x0c\x00\x00\x00"), make([]byte, 64)...)
	if _, err := bc.UploadBuffer(ctx, "arrconv", "Input/box.glb", glb, nil); err != nil {
		t.Fatal(err)
	}
	cred, err := azblob.NewSharedKeyCredential(az.AccountName, az.AccountKey)
	if err != nil {
		t.Fatal(err)
	}
	qp, err := sas.BlobSignatureValues{
		Protocol: sas.ProtocolHTTPSandHTTP, StartTime: time.Now().Add(-time.Minute).UTC(), ExpiryTime: time.Now().Add(time.Hour).UTC(),
		Permissions: (&sas.ContainerPermissions{Read: true, List: true, Write: true, Create: true}).String(), ContainerName: "arrconv",
	}.SignWithSharedKey(cred)
	if err != nil {
		t.Fatal(err)
	}
	containerURI := strings.TrimSuffix(az.BlobEndpoint, "/") + "/arrconv"

	c, sim := simClient(t, arrsim.Options{ConversionAfter: 20 * time.Second})
	in, out := "Input", "Output"
	settings := arr.ConversionSettings{
		InputLocation:  arr.InputLocation{StorageContainerURI: containerURI, RelativeInputAssetPath: "box.glb", BlobPrefix: &in, StorageContainerReadListSAS: arr.SAS("?" + qp.Encode())},
		OutputLocation: arr.OutputLocation{StorageContainerURI: containerURI, BlobPrefix: &out, StorageContainerWriteSAS: arr.SAS(qp.Encode())},
	}
	cr, err := c.CreateConversion(ctx, "sim-conv-1", settings, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !cr.Created || cr.Status != arr.ConversionStatusNotStarted {
		t.Errorf("create: %+v", cr)
	}
	if p := cr.Settings.OutputLocation.BlobPrefix; p == nil || *p != "Output/" {
		t.Errorf("blobPrefix not normalised: %v", p)
	}
	if n := cr.Settings.OutputLocation.OutputAssetFilename; n == nil || *n != "box.arrAsset" {
		t.Errorf("default output name: %v", n)
	}
	done, err := c.WaitForConversion(ctx, "sim-conv-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	uri, ok := done.OutputAssetURI()
	if done.Status != arr.ConversionStatusSucceeded || !ok || uri != containerURI+"/Output/box.arrAsset" {
		t.Fatalf("conversion ended %q (%+v), uri %q", done.Status, done.Error, uri)
	}
	if _, err := bc.DownloadStream(ctx, "arrconv", "Output/box.arrAsset", nil); err != nil {
		t.Errorf("output asset not written: %v", err)
	}
	page, err := c.NewListConversionsPager(nil).NextPage(ctx)
	if err != nil || len(page.Conversions) != 1 || page.Conversions[0].ID != "sim-conv-1" {
		t.Errorf("list: %v %+v", err, page)
	}
	if st := sim.Stats(); st.TokenCalls != 1 {
		t.Errorf("STS token fetched %d times, want exactly 1", st.TokenCalls)
	}
}
