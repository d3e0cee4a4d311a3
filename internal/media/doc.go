// Package media checks and cleans the images and files people upload: it
// tells the real type of an image from its bytes, refuses types a browser
// could run (HTML, SVG, scripts), strips the metadata that gives away where
// and with what a photo was taken (EXIF with GPS, XMP, IPTC, PNG text
// chunks), and reads an image's dimensions. It is pure: bytes in, bytes
// out, no I/O.
package media
