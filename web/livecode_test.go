package web_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/qunchat/qun/client"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// TestLiveCodeFullGroup: a fan opens a live code's link (/l/CODE) at phone
// size and reaches the join page of its first group; before the fan taps
// "Join", someone else takes the group's last seat. The tap finds the
// group full, and the page asks the code again and joins its next group:
// the fan lands in group 2, nobody is in two, and the family counts both.
func TestLiveCodeFullGroup(t *testing.T) {
	chromiumPath(t)
	n := startNode(t)
	url := appURL(t, n)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, erp := merchantSDK(t, ctx, n, url, "groups")
	fam, err := erp.CreateFamily(ctx, api.FamilyRequest{Name: "粉丝群", Cap: 1})
	if err != nil {
		t.Fatal(err)
	}

	fan := newBrowser(t, "fan", 390, 844, "en", artifactsDir(t))
	defer fan.checkExceptions()
	fan.do("opening the live code", sceneStep,
		chromedp.Navigate(fam.Link),
		chromedp.WaitVisible(css("#btn-new-key")),
		chromedp.Click(css("#btn-new-key")),
		chromedp.WaitVisible(css("#btn-join")),
		waitText("#preview-name", "粉丝群", sceneStep),
	)

	// Someone else takes the first group's seat meanwhile.
	otherKey, err := protocol.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	other, err := client.New(url, otherKey, client.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	lj, err := other.LiveJoin(ctx, fam.Code)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Join(ctx, lj.Token); err != nil {
		t.Fatal(err)
	}

	fan.do("joining", sceneStep,
		chromedp.Click(css("#btn-join")),
		waitText("#group-name", "粉丝群 2", sceneStep),
		chromedp.WaitVisible(css("#composer")),
	)
	fan.screenshot("420-fan-in-group-2")
	eventually(t, sceneStep, func() error {
		f, err := erp.Family(ctx, fam.ID)
		if err != nil {
			return err
		}
		if len(f.Shards) != 2 || f.Shards[0].Members != 1 || f.Shards[1].Members != 1 || f.Members != 2 {
			return fmt.Errorf("the family: %+v", f)
		}
		return nil
	})
}
