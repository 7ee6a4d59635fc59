"""Captions as real accounts write them, through the real Graph and TikTok connectors.

The sandbox's `real_captions` portfolio writes a repost's link to its story without a
scheme (on the site's `www.`, `m.` and `amp.` hosts, after "link in bio" arrows, after a
lead-in in Russian, Japanese or Arabic) and its campaign code as a hashtag, or on Facebook
as the link's `utm_campaign`. The links land in `content_items.links`, and content
identity puts every repost in its story's family: the sandbox's ground truth.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import pandas as pd
import pyarrow.dataset as ds
import yaml

from contentpulse import pipeline
from contentpulse.config import load_config
from contentpulse.demo import write_sandbox_config
from contentpulse.links import normalise_url
from contentpulse.streams import Window, find_links
from sandbox import ChannelSpec, Portfolio, Sandbox
from sandbox.social_portfolio import SocialAccountSpec, SocialPortfolio
from transforms.identity import content_families

END = date(2026, 11, 20)
START = END - timedelta(days=30)
CLOCK = END + timedelta(days=1)
PLATFORMS = ("instagram", "facebook", "tiktok")


def landed_items(cfg, platform: str) -> pd.DataFrame:
    folder = cfg.paths.landing / f"source={platform}" / "stream=content_items"
    files = sorted(str(p) for p in folder.glob("account=*/window=*/*.parquet"))
    frame = ds.dataset(files, format="parquet").to_table().to_pandas()
    return frame.assign(platform=platform)


def test_scheme_less_links_and_campaign_codes_land_and_join_each_repost_to_its_story(tmp_path):
    youtube = Portfolio(
        [ChannelSpec("Alpha News", 40, "UTC"), ChannelSpec("Beta", 40, "Asia/Tokyo")], START, END
    )
    social = SocialPortfolio(
        [
            SocialAccountSpec("instagram", "alpha.news", 60, "UTC"),
            SocialAccountSpec("facebook", "Alpha News", 60, "UTC"),
            SocialAccountSpec("tiktok", "alphanews", 60, "Asia/Tokyo"),
        ],
        START,
        END,
        youtube=youtube,
        real_captions=True,
    )
    with Sandbox(youtube, clock=CLOCK, social=social) as sandbox:
        path = write_sandbox_config(tmp_path / "contentpulse.yml", sandbox, tmp_path / "data")
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        raw["sources"] = {p: raw["sources"][p] for p in PLATFORMS}
        path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
        cfg = load_config(path)
        for platform in PLATFORMS:
            accounts = [a.id for a in dict(cfg.iter_sources())[platform].accounts]
            step = pipeline.extract_source(cfg, platform, accounts, Window(START, END), "r1")
            assert step.errors == []
    items = pd.concat([landed_items(cfg, p) for p in PLATFORMS], ignore_index=True)
    items = items.drop_duplicates(["platform", "account_id", "item_id"])

    # every repost's link landed, whatever host or script it was written in
    stories = youtube.stories_by_id
    reposts = {
        post.post_id: post
        for account in social.accounts
        for post in social.visible_posts(account, CLOCK)
        if post.story_id.startswith("story-")
    }
    linked = 0
    for row in items.itertuples():
        post = reposts.get(row.item_id)
        if post is None or not find_links(post.caption):
            continue
        story = normalise_url(stories[post.story_id].url)
        assert story in {normalise_url(link) for link in row.links}, post.caption
        assert "://" not in post.caption  # written without a scheme
        linked += 1
    assert linked >= 10

    # identity puts every repost in its story's family, and nothing else together
    videos = pd.DataFrame(
        [
            {
                "platform": "youtube",
                "account_id": channel.channel_id,
                "item_id": video.video_id,
                "title": video.title,
                "description": video.description,
                "links": find_links(video.description),
                "url": f"https://www.youtube.com/watch?v={video.video_id}",
                "published_at": video.published_at,
            }
            for channel in youtube.channels
            for video in channel.videos
        ]
    )
    columns = [*videos.columns]
    families, links = content_families(pd.concat([videos, items[columns]], ignore_index=True))
    truth = youtube.families() | social.families()
    found = dict(zip(families.item_id, families.family_id, strict=True))
    by_story: dict[str, set[str]] = defaultdict(set)
    for item_id, story_id in truth.items():
        if item_id in found:
            by_story[story_id].add(found[item_id])
    for post_id, post in reposts.items():
        assert found[post_id] in by_story[post.story_id] and len(by_story[post.story_id]) == 1, (
            post.caption
        )
    by_family: dict[str, set[str]] = defaultdict(set)
    for item_id, family_id in found.items():
        by_family[family_id].add(truth[item_id])
    for post_id, post in reposts.items():  # and nothing of another story joined it
        assert by_family[found[post_id]] == {post.story_id}, post.caption
    # the links and codes were the evidence, and none of it was wrong (the generic captions
    # of posts that repost nothing can still pair by title: the title rule's own business)
    used = links[(links.status == "linked") & links.method.isin(["link", "campaign"])]
    assert {"link", "campaign"} <= set(used.method)
    assert all(truth[a] == truth[b] for a, b in zip(used.item_id_a, used.item_id_b, strict=True))
