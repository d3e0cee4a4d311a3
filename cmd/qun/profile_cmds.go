package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/qunchat/qun/client"
	"github.com/qunchat/qun/protocol"
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
	if p == (protocol.MyProfile{}) {
		return x.emit(p, "no profile set: qun profile set --name NAME [--bio TEXT]")
	}
	return x.emit(p, fmt.Sprintf("name: %s\nbio:  %s", orDash(p.Name), orDash(p.Bio)))
}

// runProfileSet stores the profile on the node and puts it into every
// group of the user.
func runProfileSet(x *cli, args []string) error {
	fs := x.flags()
	name := fs.String("name", "", "display name `NAME` (at most 32 characters)")
	bio := fs.String("bio", "", "a short `TEXT` about you (at most 160 characters)")
	if _, err := x.parse(fs, args, 0, false); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["name"] && !set["bio"] {
		return usagef("give --name NAME, --bio TEXT or both (\"\" clears one)")
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
		protocol.MyProfile
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
	return x.submit(func(c *client.Client) (*protocol.SubmitResponse, error) {
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
