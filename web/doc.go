// Package web is Qun's web light client: static HTML, CSS and JavaScript
// modules embedded in the binary and served by every node next to its API.
//
// The page runs entirely in the browser. It keeps the user's ed25519 key
// (in localStorage, in the format of Qun key files), builds and signs every
// submission itself with the browser's own WebCrypto Ed25519, and talks to
// its home node through the light-client API of docs/API.md: a session
// proved by a signed challenge, invite previews, backward history pages and
// the WebSocket. The node never sees the key. There is no build step: the
// files in static/ are what the browser runs.
//
// People show by name (kind profile, protocol 1.1; static/js/names.js):
// the group nick, else the profile name, else the short ID, with the end of
// the ID added wherever two members of a group show the same name. The
// node keeps the user's name and bio (/api/v1/me/profile); the page signs
// the profile event that carries them to each group, after a change and
// after every join.
//
// Images and files (static/js/chat.js): picked, pasted or dropped in the
// composer, each is uploaded at once to the home node (POST /api/v1/blobs,
// with progress and cancel), which checks images by their bytes, removes
// their metadata and makes the thumbnail; the answer goes into the signed
// message as is (field 7, at most 9). The chat shows an image's inline
// thumbnail at once, sized by its stated width and height, then the full
// image from the group's blob URL; a tap opens it full size. Files show
// their name, size and a download link.
//
// Reactions and edits (kinds reaction and edit, protocol 1.1;
// static/js/chat.js): a long press on a message, or its React button,
// offers 👍 ❤️ 😂 🎉 🙏 👌 and a field for any other emoji; chips under the
// message show each emoji and its count, counted from the events loaded
// (the latest event of a user, an emoji and a message wins), highlighted
// when one is the user's, and name who reacted (title, long press). The
// author edits a message in the composer within 24 hours (Esc cancels);
// the message, its quotes and its pin show the latest text, marked
// "edited". Neither kind has a chat line of its own.
//
// Handler serves the files: "/" is the app, "/join" the same app (the invite
// token travels in the fragment, /join#TOKEN, which browsers never send to
// servers). A node mounts it under its API mux:
//
//	mux.Handle("/", web.Handler())
//
// Every answer carries a strict Content-Security-Policy (scripts, styles,
// connections and images from the page's own origin only; no inline script),
// nosniff, no referrer and no framing.
package web
