package arr

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// CreateConversionOptions, GetConversionOptions and ListConversionsOptions are
// reserved for future parameters.
type (
	CreateConversionOptions struct{}
	GetConversionOptions    struct{}
	ListConversionsOptions  struct{}
)

// CreateConversionResponse is the result of CreateConversion.
type CreateConversionResponse struct {
	Conversion
	// Created is false when the service answered 200 (a retried create with the
	// same settings).
	Created bool
	MSCV    string
}

// GetConversionResponse is the result of GetConversion.
type GetConversionResponse struct {
	Conversion
	MSCV string
}

// ListConversionsResponse is one page of NewListConversionsPager.
type ListConversionsResponse struct {
	Conversions []Conversion
	NextLink    *string
	MSCV        string
}

func (c *Client) conversionURL(id string) string {
	return c.accountPath() + "/conversions/" + url.PathEscape(id)
}

// CreateConversion starts converting an asset (PUT). A missing input file is not
// detected by the service at this point: the conversion fails later with
// ConversionProcessFailed / InputContainerError. Without a SAS the storage account
// must be linked to the ARR account, otherwise 403 DelegatedResourceAccessError.
func (c *Client) CreateConversion(ctx context.Context, conversionID string, settings ConversionSettings, _ *CreateConversionOptions) (CreateConversionResponse, error) {
	if err := ValidateID("conversion id", conversionID); err != nil {
		return CreateConversionResponse{}, err
	}
	if err := ValidateConversionSettings(settings); err != nil {
		return CreateConversionResponse{}, err
	}
	return c.createConversion(ctx, conversionID, newCreateConversionBody(settings))
}

func (c *Client) createConversion(ctx context.Context, id string, body createConversionBody) (CreateConversionResponse, error) {
	resp, err := c.send(ctx, http.MethodPut, c.conversionURL(id), body, http.StatusOK, http.StatusCreated)
	if err != nil {
		return CreateConversionResponse{}, fmt.Errorf("create conversion %s: %w", id, err)
	}
	out := CreateConversionResponse{Created: resp.StatusCode == http.StatusCreated, MSCV: resp.Header.Get("MS-CV")}
	if err := decodeConversion(resp, &out.Conversion); err != nil {
		return CreateConversionResponse{}, fmt.Errorf("create conversion %s: %w", id, err)
	}
	return out, nil
}

// GetConversion reads a conversion.
func (c *Client) GetConversion(ctx context.Context, conversionID string, _ *GetConversionOptions) (GetConversionResponse, error) {
	if err := ValidateID("conversion id", conversionID); err != nil {
		return GetConversionResponse{}, err
	}
	resp, err := c.send(ctx, http.MethodGet, c.conversionURL(conversionID), nil, http.StatusOK)
	if err != nil {
		return GetConversionResponse{}, fmt.Errorf("get conversion %s: %w", conversionID, err)
	}
	out := GetConversionResponse{MSCV: resp.Header.Get("MS-CV")}
	if err := decodeConversion(resp, &out.Conversion); err != nil {
		return GetConversionResponse{}, fmt.Errorf("get conversion %s: %w", conversionID, err)
	}
	return out, nil
}

// NewListConversionsPager lists the account's conversions, following @nextLink
// (only on the client's own endpoint).
func (c *Client) NewListConversionsPager(_ *ListConversionsOptions) *runtime.Pager[ListConversionsResponse] {
	return runtime.NewPager(runtime.PagingHandler[ListConversionsResponse]{
		More: func(p ListConversionsResponse) bool { return p.NextLink != nil && *p.NextLink != "" },
		Fetcher: func(ctx context.Context, page *ListConversionsResponse) (ListConversionsResponse, error) {
			u := c.accountPath() + "/conversions"
			if page != nil && page.NextLink != nil {
				var err error
				if u, err = c.resolveNextLink(*page.NextLink); err != nil {
					return ListConversionsResponse{}, err
				}
			}
			resp, err := c.send(ctx, http.MethodGet, u, nil, http.StatusOK)
			if err != nil {
				return ListConversionsResponse{}, fmt.Errorf("list conversions: %w", err)
			}
			var l conversionList
			if err := runtime.UnmarshalAsJSON(resp, &l); err != nil {
				return ListConversionsResponse{}, fmt.Errorf("list conversions: %w", err)
			}
			return ListConversionsResponse{Conversions: l.Conversions, NextLink: l.NextLink, MSCV: resp.Header.Get("MS-CV")}, nil
		},
	})
}
