package convert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/arrops/arrops/internal/azurite"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/arrops/arrops/arr"
	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/internal/azuritetest"
	"github.com/arrops/arrops/internal/functest"
)

// loadConfig loads settings over the minimum the handler needs.
func loadConfig(t *testing.T, cs string, settings map[string]string) (*config.Config, error) {
	t.Helper()
	env := functest.Settings(cs)
	maps.Copy(env, settings)
	return config.Load(func(k string) string { return env[k] })
}

// TestAccountSASAgainstAzurite: the SAS handed to ARR really works for what
// ARR needs (read+list the input container, write the output container),
// for nothing else, and not after its bounded expiry.
func TestAccountSASAgainstAzurite(t *testing.T) {
	az := azuritetest.Start(t)
	ctx := context.Background()
	cfg, err := loadConfig(t, az.ConnectionString, map[string]string{"ARR_STORAGE_ACCESS": "accountSas", "ARR_SAS_EXPIRY_MINUTES": "30"})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := azblob.NewClientFromConnectionString(az.ConnectionString, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{cfg.InputContainer, cfg.OutputContainer} {
		if _, err := svc.CreateContainer(ctx, c, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.UploadBuffer(ctx, cfg.InputContainer, "site/plant.glb", functest.SampleGLB, nil); err != nil {
		t.Fatal(err)
	}
	acc, err := NewAccess(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := acc.ContainerURL("arr-input"), strings.TrimSuffix(az.BlobEndpoint, "/")+"/arr-input"; got != want {
		t.Fatalf("ContainerURL = %q, want %q", got, want)
	}
	now := time.Now().UTC()
	read, err := acc.ReadList(ctx, cfg.InputContainer, now)
	if err != nil {
		t.Fatal(err)
	}
	write, err := acc.Write(ctx, cfg.OutputContainer, now)
	if err != nil {
		t.Fatal(err)
	}
	stale, err := acc.ReadList(ctx, cfg.InputContainer, now.Add(-2*cfg.SASExpiry))
	if err != nil {
		t.Fatal(err)
	}

	// The query itself: permissions and a start/expiry window around now.
	for _, tc := range []struct {
		name  string
		sas   arr.SAS
		perms string
	}{{"read+list", read, "rl"}, {"write", write, "rcwl"}} {
		q, err := url.ParseQuery(string(tc.sas))
		if err != nil || q.Get("sig") == "" {
			t.Fatalf("%s SAS does not parse or is unsigned: %v", tc.name, err)
		}
		if q.Get("sp") != tc.perms || q.Get("sr") != "c" {
			t.Errorf("%s SAS: sp=%s sr=%s, want sp=%s on the container (sr=c)", tc.name, q.Get("sp"), q.Get("sr"), tc.perms)
		}
		st, err1 := time.Parse(time.RFC3339, q.Get("st"))
		se, err2 := time.Parse(time.RFC3339, q.Get("se"))
		if err1 != nil || err2 != nil {
			t.Fatalf("%s SAS: st=%q se=%q", tc.name, q.Get("st"), q.Get("se"))
		}
		if d := se.Sub(now); d < cfg.SASExpiry-time.Second || d > cfg.SASExpiry {
			t.Errorf("%s SAS expires in %s, want %s (ARR_SAS_EXPIRY_MINUTES)", tc.name, d, cfg.SASExpiry)
		}
		if d := now.Sub(st); d < 5*time.Minute-time.Second || d > 5*time.Minute+time.Second {
			t.Errorf("%s SAS starts %s before now, want 5m of clock-skew allowance", tc.name, d)
		}
	}

	in, out := acc.ContainerURL(cfg.InputContainer), acc.ContainerURL(cfg.OutputContainer)
	checks := []struct {
		name    string
		op      func() error
		allowed bool
	}{
		{"read SAS lists the input", func() error { return list(ctx, in, read) }, true},
		{"read SAS downloads the input", func() error { return download(ctx, in+"/site/plant.glb", read) }, true},
		{"read SAS cannot write the input", func() error { return put(ctx, in+"/site/evil.glb", read) }, false},
		{"read SAS cannot read the output", func() error { return list(ctx, out, read) }, false},
		{"write SAS writes the output", func() error { return put(ctx, out+"/site/plant.arrAsset", write) }, true},
		{"write SAS cannot write the input", func() error { return put(ctx, in+"/site/evil.glb", write) }, false},
		{"expired read SAS is refused", func() error { return list(ctx, in, stale) }, false},
		{"no SAS is refused", func() error { return list(ctx, in, "") }, false},
	}
	for _, c := range checks {
		err := c.op()
		if c.allowed && err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if !c.allowed {
			var re *azcore.ResponseError
			if err == nil {
				t.Errorf("%s: allowed", c.name)
			} else if !errAs(err, &re) || re.StatusCode != 403 && re.StatusCode != 401 && re.StatusCode != 404 {
				t.Errorf("%s: %v, want an authorisation failure", c.name, err)
			}
		}
	}

	// The SAS never prints, marshals or wraps into an error in the clear.
	b, _ := json.Marshal(struct{ S arr.SAS }{read})
	wrapped := fmt.Errorf("start conversion with %v: %w", read, fmt.Errorf("%s %q %#v %+v %x", read, read, read, write, write))
	for _, s := range []string{fmt.Sprint(read), fmt.Sprintf("%v|%s|%q|%#v|%x", read, write, read, write, read), string(b), wrapped.Error()} {
		if strings.Contains(s, "sig=") || strings.Contains(s, url.QueryEscape(mustQuery(t, read).Get("sig"))) {
			t.Errorf("SAS leaked: %s", s)
		}
	}
}

func mustQuery(t *testing.T, s arr.SAS) url.Values {
	q, err := url.ParseQuery(string(s))
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func withSAS(u string, s arr.SAS) string {
	if s == "" {
		return u
	}
	return u + "?" + string(s)
}

func list(ctx context.Context, containerURL string, s arr.SAS) error {
	c, err := container.NewClientWithNoCredential(withSAS(containerURL, s), nil)
	if err != nil {
		return err
	}
	_, err = c.NewListBlobsFlatPager(nil).NextPage(ctx)
	return err
}

func download(ctx context.Context, blobURL string, s arr.SAS) error {
	c, err := blockblob.NewClientWithNoCredential(withSAS(blobURL, s), nil)
	if err != nil {
		return err
	}
	resp, err := c.DownloadStream(ctx, nil)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

func put(ctx context.Context, blobURL string, s arr.SAS) error {
	c, err := blockblob.NewClientWithNoCredential(withSAS(blobURL, s), nil)
	if err != nil {
		return err
	}
	_, err = c.UploadBuffer(ctx, []byte("arrAsset"), nil)
	return err
}

// TestAccessModes: linked storage hands ARR no SAS at all; the user-delegation
// mode needs the app identity; the expiry setting is bounded.
func TestAccessModes(t *testing.T) {
	cs := "DefaultEndpointsProtocol=http;AccountName=" + azurite.AccountName + ";AccountKey=" + azurite.AccountKey +
		";BlobEndpoint=http://127.0.0.1:10000/" + azurite.AccountName + ";"
	ctx := context.Background()
	t.Run("linked sends none", func(t *testing.T) {
		cfg, err := loadConfig(t, cs, map[string]string{"ARR_STORAGE_ACCESS": "linked"})
		if err != nil {
			t.Fatal(err)
		}
		acc, err := NewAccess(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err1 := acc.ReadList(ctx, "arr-input", time.Now())
		w, err2 := acc.Write(ctx, "arr-output", time.Now())
		if r != "" || w != "" || err1 != nil || err2 != nil {
			t.Fatalf("linked: read %q (%v), write %q (%v); want no SAS", r, err1, w, err2)
		}
		if got := acc.ContainerURL("arr-input"); got != "http://127.0.0.1:10000/devstoreaccount1/arr-input" {
			t.Errorf("ContainerURL = %q", got)
		}
	})
	t.Run("user delegation needs the app identity", func(t *testing.T) {
		cfg, err := loadConfig(t, "", map[string]string{"ARR_STORAGE_ACCESS": "userDelegationSas",
			"AzureWebJobsStorage__tableServiceUri": "https://acct.table.core.windows.net",
			"AzureWebJobsStorage__queueServiceUri": "https://acct.queue.core.windows.net",
			"AzureWebJobsStorage__blobServiceUri":  "https://acct.blob.core.windows.net"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := NewAccess(cfg, nil); err == nil || !strings.Contains(err.Error(), "identity") {
			t.Fatalf("NewAccess without identity = %v", err)
		}
	})
	t.Run("account SAS with a key-less connection string is refused", func(t *testing.T) {
		_, err := loadConfig(t, "DefaultEndpointsProtocol=https;AccountName=a;EndpointSuffix=core.windows.net", map[string]string{"ARR_STORAGE_ACCESS": "accountSas"})
		if err == nil {
			t.Fatal("accepted")
		}
	})
	for _, tc := range []struct {
		minutes string
		want    time.Duration // 0: refused
	}{{"", 240 * time.Minute}, {"15", 15 * time.Minute}, {"1440", 24 * time.Hour}, {"14", 0}, {"1441", 0}, {"-5", 0}} {
		t.Run("expiry "+tc.minutes, func(t *testing.T) {
			cfg, err := loadConfig(t, cs, map[string]string{"ARR_SAS_EXPIRY_MINUTES": tc.minutes})
			switch {
			case tc.want == 0 && err == nil:
				t.Fatalf("ARR_SAS_EXPIRY_MINUTES=%s accepted: %s", tc.minutes, cfg.SASExpiry)
			case tc.want != 0 && (err != nil || cfg.SASExpiry != tc.want):
				t.Fatalf("ARR_SAS_EXPIRY_MINUTES=%s: %v, %v; want %s", tc.minutes, cfg, err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "AccountKey=") {
				t.Errorf("setting error leaks the connection string: %v", err)
			}
		})
	}
}

func errAs(err error, target any) bool { return errors.As(err, target) }
