package main

import (
	"context"
	"fmt"

	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/store"
)

// openStore opens the Table Storage records the handler writes: with the
// connection string when there is one, else with the operator's Entra
// identity (az login; needs Storage Table Data Reader).
func openStore(_ context.Context, cfg *config.Config) (records, error) {
	if cfg.StorageConnectionString != "" {
		s, err := store.NewFromConnectionString(cfg.StorageConnectionString, nil)
		if err != nil {
			return nil, fmt.Errorf("open records: %w", err)
		}
		return s, nil
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	s, err := store.NewWithCredential(cfg.TableServiceURL, cred, nil)
	if err != nil {
		return nil, fmt.Errorf("open records: %w", err)
	}
	return s, nil
}
