package web_test

import (
	"bytes"
	"fmt"
	"image/jpeg"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/qunchat/qun/protocol"
)

// avatarShown waits until the avatar under sel shows, over its initials,
// the image of hash as group gid serves it on the page's node (base).
func avatarShown(base, gid, hash, sel string, timeout time.Duration) chromedp.Action[chromedp.Void] {
	want := base + "/api/v1/groups/" + gid + "/blobs/" + hash + "?"
	return waitJS(`(() => {
  const i = document.querySelector(`+jsString(sel+" img.avatar-img")+`);
  return !!i && i.complete && i.naturalWidth > 0 && i.src.startsWith(`+jsString(want)+`) && i.parentNode.classList.contains("has-img");
})()`, timeout)
}

// avatarInitials waits until the avatar under sel shows its initials
// only: no image.
func avatarInitials(sel string, timeout time.Duration) chromedp.Action[chromedp.Void] {
	return waitJS(`(() => {
  const a = document.querySelector(`+jsString(sel)+`);
  return !!a && !a.querySelector("img") && !a.classList.contains("has-img") && a.querySelector(".initials").textContent.trim() !== "";
})()`, timeout)
}

// TestAvatars: avatars between two nodes and two phone browsers (issue 8).
// The buyer (node B, English) picks a phone photo (with GPS in its EXIF)
// on the profile screen: it shows there at once, while the upload, slowed
// down, shows its progress; the page pushes it to the buyer's group. The
// shop (node A, Chinese) sees the buyer's real picture, loaded from the
// group's blob URL, in the chat line, the member list and the person
// card; the bytes the group serves have no EXIF left. A file that is not
// a picture, and one the node refuses, each give one line in the user's
// language. The buyer removes the picture: the shop's page falls back to
// the initials live, in the chat and on the open card.
func TestAvatars(t *testing.T) {
	sc := shopScene(t, "茶庄", withBrowsers("shop-zh", "buyer-en"))
	shop, buyer, gid, ctx := sc.shop, sc.buyer, sc.gid, sc.ctx
	const step = sceneStep
	sc.openShop()
	sc.join()
	buyer.do("writing", step,
		chromedp.SendKeys(css("#composer"), "Is the Longjing fresh?"),
		chromedp.Click(css("#btn-send")),
		waitText(".msg.mine .text", "Is the Longjing fresh?", step),
	)
	bID := userID(buyer)
	line := `.msg[data-author="` + bID + `"] .msg-head .avatar`
	shop.do("seeing the buyer's initials", step, avatarInitials(line, step))

	// A file that is not a picture: refused on the page, in English.
	buyer.do("opening the profile", step,
		chromedp.Click(css("#me")),
		chromedp.WaitVisible(css("#btn-pick-avatar")),
		waitText("#btn-pick-avatar", "Choose a picture", step),
		chromedp.SetUploadFiles(css("#profile-avatar-input"), []string{writeTemp(t, "notes.txt", []byte("not a picture"))}),
		waitText("#profile-status.error", "The picture was not set: this file is not a picture.", step),
	)

	// The photo, with its upload slowed down: shown at once, with the
	// progress of the upload.
	photo := phonePhoto(t)
	if !bytes.Contains(photo, []byte("Hangzhou")) || len(photo) > protocol.MaxAvatarBytes {
		t.Fatalf("the test photo (%d bytes) has no EXIF or is too large to go as it is", len(photo))
	}
	buyer.do("picking a photo", step,
		throttleUploadsAt(true, 8_000),
		chromedp.SetUploadFiles(css("#profile-avatar-input"), []string{writeTemp(t, "IMG_0042.jpg", photo)}),
		waitJS(`(() => { const i = document.querySelector("#profile-avatar img.avatar-img"); return i && i.src.startsWith("blob:") && i.naturalWidth === 640; })()`, step),
		waitJS(`!document.querySelector("#profile-avatar-progress").hidden && parseInt(document.querySelector("#profile-avatar-progress .pct").textContent) >= 1`, step),
	)
	if msg := get(buyer, "reading the status", chromedp.Text(css("#profile-status"))); msg != "" {
		t.Errorf("while the photo uploads the status line says %q", msg)
	}
	buyer.screenshot("90-buyer-avatar-uploading")
	buyer.do("uploading the photo", step,
		throttleUploadsAt(false, 0),
		waitText("#profile-status.ok", "1 of your groups", step),
		chromedp.WaitNotVisible(css("#profile-avatar-progress")),
		waitText("#btn-pick-avatar", "Change picture", step),
		chromedp.WaitVisible(css("#btn-remove-avatar")),
	)
	buyer.screenshot("91-buyer-avatar-set")

	// The group has it, without the photo's EXIF.
	var ref *protocol.BlobRef
	eventually(t, step, func() error {
		view, err := sc.owner.Group(ctx, gid)
		if err != nil {
			return err
		}
		for _, m := range view.MemberList {
			if m.User == bID && m.Avatar != nil {
				ref, err = m.Avatar.Ref()
				return err
			}
		}
		return fmt.Errorf("the buyer's avatar did not reach the group")
	})
	hash := fmt.Sprintf("%x", ref.Hash[:])
	if ref.MIME != "image/jpeg" || ref.Width != 640 || ref.Height != 480 {
		t.Errorf("the avatar is %s %d×%d, want the 640×480 JPEG", ref.MIME, ref.Width, ref.Height)
	}
	served, err := sc.owner.Blob(ctx, gid, *ref)
	if err != nil {
		t.Fatalf("fetching the avatar from the group: %v", err)
	}
	for _, w := range []string{"Exif", "GPS", "Hangzhou"} {
		if bytes.Contains(served, []byte(w)) {
			t.Errorf("the avatar the group serves still holds %q from the photo's EXIF", w)
		}
	}
	if cfg, err := jpeg.DecodeConfig(bytes.NewReader(served)); err != nil || cfg.Width != 640 || cfg.Height != 480 {
		t.Errorf("the served avatar: %v, %d×%d", err, cfg.Width, cfg.Height)
	}

	// The shop sees the picture live: chat line, member list, card.
	shop.do("seeing the avatar in the chat", step, avatarShown(sc.urlA, gid.String(), hash, line, step))
	shop.screenshot("92-shop-avatar-in-chat")
	row := `#member-list li[data-user="` + bID + `"] .avatar`
	shop.do("seeing the avatar in the member list", step,
		chromedp.Click(css("#btn-manage")),
		avatarShown(sc.urlA, gid.String(), hash, row, step),
	)
	shop.screenshot("93-shop-avatar-in-members")
	shop.do("seeing the avatar on the card", step,
		chromedp.Click(css(".group-header .back")),
		avatarShown(sc.urlA, gid.String(), hash, line, step),
		chromedp.Click(css(`.msg[data-author="`+bID+`"] .author`)),
		chromedp.WaitVisible(css("#person-card")),
		avatarShown(sc.urlA, gid.String(), hash, "#person-card .avatar", step),
	)
	shop.screenshot("94-shop-avatar-on-card")

	// The buyer removes it: the shop's page shows the initials again, live.
	buyer.do("removing the avatar", step,
		chromedp.Click(css("#btn-remove-avatar")),
		waitText("#profile-status.ok", "1 of your groups", step),
		avatarInitials("#profile-avatar", step),
		chromedp.WaitNotVisible(css("#btn-remove-avatar")),
		waitText("#btn-pick-avatar", "Choose a picture", step),
	)
	buyer.screenshot("95-buyer-avatar-removed")
	shop.do("seeing the initials again", step,
		avatarInitials("#person-card .avatar", step),
		avatarInitials(line, step),
	)
	shop.screenshot("96-shop-avatar-removed")

	// The shop's own profile screen, in Chinese: a file the node refuses
	// (a "PNG" that is not one) gives one line.
	shop.do("picking a broken picture", step,
		tap("#btn-person-close"),
		chromedp.Click(css("#me")),
		chromedp.WaitVisible(css("#btn-pick-avatar")),
		waitText("#btn-pick-avatar", "选择头像", step),
		chromedp.SetUploadFiles(css("#profile-avatar-input"), []string{writeTemp(t, "logo.png", []byte("GIF89a not really a png"))}),
		waitText("#profile-status.error", "头像未能设置：节点拒绝了这张图片（", step),
		avatarInitials("#profile-avatar", step),
	)
	msg := get(shop, "reading the refusal", chromedp.Text(css("#profile-status")))
	t.Logf("the shop sees: %s", msg)
	if strings.Contains(msg, "\n") || len([]rune(msg)) > 160 {
		t.Errorf("the refusal is not one short line: %q", msg)
	}
	shop.screenshot("97-shop-avatar-refused")
}
