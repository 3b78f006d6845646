package connstr

import (
	"strings"
	"testing"
)

func TestParseStorage(t *testing.T) {
	tests := []struct {
		in       string
		wantBlob string
		wantErr  bool
	}{
		{"UseDevelopmentStorage=true", "http://127.0.0.1:10000/devstoreaccount1", false},
		{"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=S3CRET;EndpointSuffix=core.windows.net", "https://acct.blob.core.windows.net", false},
		{"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=S3CRET;BlobEndpoint=http://127.0.0.1:5/devstoreaccount1/;", "http://127.0.0.1:5/devstoreaccount1", false},
		{"AccountKey=S3CRET", "", true},
		{"garbage S3CRET", "", true},
	}
	for _, tt := range tests {
		s, err := ParseStorage(tt.in)
		if (err != nil) != tt.wantErr {
			t.Fatalf("%q: err %v", tt.in, err)
		}
		if err != nil {
			if strings.Contains(err.Error(), "S3CRET") {
				t.Fatalf("error leaks the key: %v", err)
			}
			continue
		}
		if s.BlobEndpoint != tt.wantBlob {
			t.Errorf("%q: blob %q want %q", tt.in, s.BlobEndpoint, tt.wantBlob)
		}
		if strings.Contains(s.String(), "S3CRET") || strings.Contains(s.String(), s.AccountKey) && s.AccountKey != "" {
			t.Errorf("String leaks the key")
		}
	}
}

func FuzzParseStorage(f *testing.F) {
	f.Add("UseDevelopmentStorage=true")
	f.Add("AccountName=a;AccountKey=b;BlobEndpoint=http://x")
	f.Fuzz(func(t *testing.T, s string) {
		st, err := ParseStorage(s)
		if err == nil && st.AccountName == "" {
			t.Fatal("accepted without account name")
		}
	})
}
