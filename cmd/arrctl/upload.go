package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/config"
)

// runUpload uploads a model into the input container, as any storage client
// would, and follows the conversion that the BlobCreated event starts (in
// Azure the Event Grid subscription, locally make run's stand-in) until it
// ends. The conversion id is known before the event arrives: convert derives
// it from container, path and the eTag the upload returns.
func runUpload(ctx context.Context, e *env, args []string) error {
	fs := newFlags("upload")
	as := fs.String("as", "", "blob path in the input container (default: ARR_INPUT_PREFIX + the file's name)")
	timeout := fs.Duration("timeout", 30*time.Minute, "how long to follow the conversion")
	noWait := fs.Bool("no-wait", false, "upload, print the conversion id and return")
	synopsis := "upload FILE [--as PATH] [--timeout 30m] [--no-wait]"
	pos, err := parseFlags(e, fs, args, synopsis, 1)
	if err != nil {
		return err
	}
	if err := positiveDuration("timeout", *timeout); err != nil {
		return err
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	file := pos[0]
	name := *as
	if name == "" {
		name = cfg.InputPrefix + filepath.Base(file)
	}
	name = strings.TrimPrefix(path.Clean("/"+filepath.ToSlash(name)), "/")
	if !strings.HasPrefix(name, cfg.InputPrefix) {
		return usagef("upload: --as %s is outside ARR_INPUT_PREFIX %q: it would not be converted", name, cfg.InputPrefix)
	}
	if !arrops.IsInputFormat(name) {
		// The subscription's filter drops it: nothing would ever happen.
		return usagef("upload: %s is not a format ARR converts (%s)", name, strings.Join(arrops.InputFormats, " "))
	}
	f, err := os.Open(file)
	if err != nil {
		return usagef("upload: %v", err)
	}
	defer f.Close()
	blobs, err := openBlobs(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	prog := newProgress(e.stderr, e.tty, e.now)
	defer prog.Done()
	prog.Set(fmt.Sprintf("uploading %s to %s/%s", file, cfg.InputContainer, name))
	resp, err := blobs.UploadFile(ctx, cfg.InputContainer, name, f, nil)
	if err != nil {
		return fmt.Errorf("upload %s/%s: %w", cfg.InputContainer, name, err)
	}
	etag := strings.Trim(string(*resp.ETag), `"`)
	id := arrops.ConversionID(cfg.InputContainer, name, etag)
	if *noWait {
		prog.Done()
		fmt.Fprintln(e.stdout, id)
		return nil
	}
	prog.Set(fmt.Sprintf("uploaded %s/%s; waiting for the BlobCreated event to start conversion %s", cfg.InputContainer, name, id))
	recs, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	for {
		c, err := recs.GetConversion(ctx, id)
		switch {
		case err == nil:
			prog.Set(fmt.Sprintf("conversion %s: %s", id, c.Status))
			if c.Status.Terminal() {
				prog.Done()
				return conversionResult(e, c)
			}
		case arrops.ErrorCode(err) != arrops.ENOTFOUND:
			return fmt.Errorf("read conversion %s: %w", id, err)
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("upload %s: conversion %s did not end within %s (no BlobCreated event? under make run the stand-in announces uploads; follow up with: arrctl conversions)", name, id, *timeout)
			}
			return ctx.Err()
		case <-time.After(recordPoll):
		}
	}
}

// conversionResult prints a finished conversion and maps its status to the
// exit code: Succeeded 0, Rejected 3, anything else 1.
func conversionResult(e *env, c *arrops.Conversion) error {
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "conversion\t%s\n", c.ID)
	fmt.Fprintf(tw, "status\t%s\n", c.Status)
	fmt.Fprintf(tw, "input\t%s/%s\n", c.InputContainer, c.InputPath)
	if c.OutputURI != "" {
		fmt.Fprintf(tw, "output\t%s\n", c.OutputURI)
	}
	if c.ErrorCode != "" || c.ErrorMessage != "" {
		fmt.Fprintf(tw, "reason\t%s %s\n", c.ErrorCode, text(c.ErrorMessage))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	switch c.Status {
	case arrops.ConversionSucceeded:
		return nil
	case arrops.ConversionRejected:
		return &rejectedError{msg: fmt.Sprintf("upload %s rejected: %s %s", c.InputPath, c.ErrorCode, text(c.ErrorMessage))}
	default:
		return fmt.Errorf("conversion %s %s: %s %s", c.ID, c.Status, c.ErrorCode, text(c.ErrorMessage))
	}
}

// openBlobs connects to the blob service: with the connection string when
// there is one, else with the operator's Entra identity (needs Storage Blob
// Data Contributor on the input container).
func openBlobs(cfg *config.Config) (*azblob.Client, error) {
	if cfg.StorageConnectionString != "" {
		c, err := azblob.NewClientFromConnectionString(cfg.StorageConnectionString, nil)
		if err != nil {
			// Never echo the connection string (it holds the key).
			return nil, errors.New("blob client: AzureWebJobsStorage is not a usable connection string")
		}
		return c, nil
	}
	if cfg.BlobServiceURL == "" {
		return nil, usagef("upload needs AzureWebJobsStorage or AzureWebJobsStorage__blobServiceUri")
	}
	var cred azcore.TokenCredential
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	c, err := azblob.NewClient(cfg.BlobServiceURL, cred, nil)
	if err != nil {
		return nil, fmt.Errorf("blob client: %w", err)
	}
	return c, nil
}
