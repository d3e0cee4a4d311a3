package main

import (
	"flag"
	"fmt"
	"mime"
	"os"
	"path/filepath"
	"strings"

	"github.com/qunchat/qun/client"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// runProfileShow prints the profile the user keeps on the node.
func runProfileShow(x *cli, args []string) error {
	fs := x.flags()
	if _, err := x.parse(fs, args, 0, false); err != nil {
		return err
	}
	c, err := x.client()
	if err != nil {
		return err
	}
	p, err := c.MyProfile(x.ctx)
	if err != nil {
		return err
	}
	if p.Name == "" && p.Bio == "" && p.Avatar == nil && len(p.Groups) == 0 {
		return x.emit(p, "no profile set: qun profile set --name NAME [--bio TEXT] [--show GID]...")
	}
	shows := "-"
	if len(p.Groups) > 0 {
		shows = strings.Join(p.Groups, "\n       ")
	}
	return x.emit(p, fmt.Sprintf("name:  %s\nbio:   %s\nshows: %s", orDash(p.Name), orDash(p.Bio), shows))
}

// runProfileSet stores the profile on the node and puts it into every
// group of the user.
func runProfileSet(x *cli, args []string) error {
	fs := x.flags()
	name := fs.String("name", "", "display name `NAME` (at most 32 characters)")
	bio := fs.String("bio", "", "a short `TEXT` about you (at most 160 characters)")
	var show repeatedFlag
	fs.Var(&show, "show", "a group of yours to show on your profile, `GID` (repeat it, at most 10; they replace those shown)")
	showNone := fs.Bool("show-none", false, "show no groups on your profile")
	if _, err := x.parse(fs, args, 0, false); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["name"] && !set["bio"] && !set["show"] && !*showNone {
		return usagef("give --name NAME, --bio TEXT, --show GID or --show-none (\"\" clears a name or bio)")
	}
	if set["show"] && *showNone {
		return usagef("--show and --show-none exclude each other")
	}
	c, err := x.client()
	if err != nil {
		return err
	}
	p, err := c.MyProfile(x.ctx)
	if err != nil {
		return err
	}
	if set["name"] {
		p.Name = *name
	}
	if set["bio"] {
		p.Bio = *bio
	}
	switch {
	case set["show"]:
		p.Groups = show
	case *showNone:
		p.Groups = nil
	}
	if p, err = c.SetMyProfile(x.ctx, p); err != nil {
		return err
	}
	shared, err := c.ShareProfile(x.ctx, func(done, total int) {
		if !x.json {
			fmt.Fprintf(x.stderr, "\rupdating your groups: %d of %d", done, total)
			if done == total {
				fmt.Fprintln(x.stderr)
			}
		}
	})
	if err != nil {
		return err
	}
	var failed []string
	for _, s := range shared {
		if s.Err != nil {
			failed = append(failed, fmt.Sprintf("  %s (%s): %s", s.Name, s.Group, protocol.AsError(s.Err).Msg))
		}
	}
	human := fmt.Sprintf("profile saved; your %d groups show it", len(shared))
	if len(failed) > 0 {
		human = fmt.Sprintf("profile saved; %d of %d groups show it; not updated:\n%s", len(shared)-len(failed), len(shared), strings.Join(failed, "\n"))
	}
	out := struct {
		api.MyProfile
		Groups int `json:"groups"`
		Failed int `json:"failed"`
	}{p, len(shared), len(failed)}
	if err := x.emit(out, human); err != nil {
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d groups were not updated", len(failed))
	}
	return nil
}

// runNick sets the user's nickname in one group.
func runNick(x *cli, args []string) error {
	fs := x.flags()
	pos, err := x.parse(fs, args, 2, true, "GID", "NICK (\"\" clears it)")
	if err != nil {
		return err
	}
	gid, err := parseGID(pos[0])
	if err != nil {
		return err
	}
	nick := strings.Join(pos[1:], " ")
	human := "nickname set"
	if nick == "" {
		human = "nickname cleared"
	}
	return x.submit(func(c *client.Client) (*api.SubmitResponse, error) {
		p, err := c.ProfileIn(x.ctx, gid)
		if err != nil {
			return nil, err
		}
		kept, err := c.MyProfile(x.ctx)
		if err != nil {
			return nil, err
		}
		p.Name, p.Bio, p.Nick = kept.Name, kept.Bio, nick
		return c.SetProfile(x.ctx, gid, p)
	}, human)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// uploadFile uploads the file at path for a message.
func uploadFile(x *cli, c *client.Client, path string) (*protocol.Attachment, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	mime := mimeByExt(filepath.Ext(path))
	att, err := c.Upload(x.ctx, mime, filepath.Base(path), data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return att, nil
}

// mimeByExt guesses a media type from a file extension; the node checks
// images by their bytes anyway.
func mimeByExt(ext string) string {
	if t := mime.TypeByExtension(strings.ToLower(ext)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// runSave saves the images and files of a message.
func runSave(x *cli, args []string) error {
	fs := x.flags()
	dir := fs.String("dir", ".", "save into the folder `DIR`")
	pos, err := x.parse(fs, args, 2, false, "GID", "SEQ")
	if err != nil {
		return err
	}
	gid, seq, err := parseGIDSeq(pos)
	if err != nil {
		return err
	}
	c, err := x.client()
	if err != nil {
		return err
	}
	page, err := c.Events(x.ctx, gid, seq, 1)
	if err != nil {
		return err
	}
	if len(page.Events) == 0 || page.Events[0].Seq != seq || len(page.Events[0].Attachments) == 0 {
		return fmt.Errorf("message #%d has no images or files", seq)
	}
	var saved []string
	for i, a := range page.Events[0].Attachments {
		ref, err := a.Ref()
		if err != nil {
			return err
		}
		data, err := c.Blob(x.ctx, gid, *ref)
		if err != nil {
			return err
		}
		name := a.Name
		if name == "" {
			name = fmt.Sprintf("%d-%d%s", seq, i+1, extOf(a.MIME))
		}
		path := filepath.Join(*dir, filepath.Base(name))
		if _, err := os.Stat(path); err == nil {
			return fmt.Errorf("%s exists; not replaced (use --dir)", path)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return err
		}
		saved = append(saved, path)
	}
	return x.emit(map[string]any{"saved": saved}, "saved "+strings.Join(saved, ", "))
}

func extOf(mimeType string) string {
	if exts, _ := mime.ExtensionsByType(mimeType); len(exts) > 0 {
		return exts[0]
	}
	return ""
}

// runReact reacts to a message.
func runReact(x *cli, args []string) error {
	fs := x.flags()
	remove := fs.Bool("remove", false, "take your reaction back")
	pos, err := x.parse(fs, args, 3, false, "GID", "SEQ", "EMOJI")
	if err != nil {
		return err
	}
	gid, seq, err := parseGIDSeq(pos)
	if err != nil {
		return err
	}
	human := "reacted " + pos[2]
	if *remove {
		human = "took back " + pos[2]
	}
	return x.submit(func(c *client.Client) (*api.SubmitResponse, error) {
		return c.React(x.ctx, gid, seq, pos[2], *remove)
	}, human)
}

// runEdit changes the text of the user's message.
func runEdit(x *cli, args []string) error {
	fs := x.flags()
	pos, err := x.parse(fs, args, 3, true, "GID", "SEQ", "TEXT")
	if err != nil {
		return err
	}
	gid, seq, err := parseGIDSeq(pos)
	if err != nil {
		return err
	}
	text := strings.Join(pos[2:], " ")
	return x.submit(func(c *client.Client) (*api.SubmitResponse, error) {
		return c.Edit(x.ctx, gid, seq, text)
	}, "edited")
}

// parseGIDSeq parses the GID and SEQ arguments of a command.
func parseGIDSeq(pos []string) (protocol.GroupID, uint64, error) {
	gid, err := parseGID(pos[0])
	if err != nil {
		return gid, 0, err
	}
	seq, err := parseSeq(pos[1])
	return gid, seq, err
}
