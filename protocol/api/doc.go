// Package api holds the JSON types of the node's light-client HTTP and
// WebSocket API (docs/API.md, docs/openapi.yaml): what the node answers
// and what clients (the Go SDK, the CLI, bridges, the web page's tests)
// decode. The pure protocol package (events, state, rules) knows nothing of
// HTTP; this package turns its values into views and maps its error codes
// to HTTP statuses.
package api
