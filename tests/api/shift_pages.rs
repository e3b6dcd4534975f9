//! The agent's shift pages, driven like a browser without JavaScript: the job board and its
//! claim form, My shifts with check-in, release, swaps, the calendar feed and preferences,
//! and the swap board.

use chrono::Duration;
use reqwest::StatusCode;

use crate::both_backends;
use crate::helpers::{TestApp, browser, csrf_of, signed_in};
use crate::shifts::{booked, certified, clock_to, past_early_access, shift_start};

async fn page(b: &reqwest::Client, app: &TestApp, path: &str) -> (StatusCode, String) {
    let res = b.get(app.url(path)).send().await.unwrap();
    let status = res.status();
    (status, res.text().await.unwrap())
}

fn location(res: &reqwest::Response) -> String {
    res.headers()["location"].to_str().unwrap().to_owned()
}

async fn post_form(
    b: &reqwest::Client,
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    b.post(app.url(path)).form(fields).send().await.unwrap()
}

/// Posts the shift form `action` (`claim`, `check-in` ...) with the token of `from`'s page.
async fn act(
    b: &reqwest::Client,
    app: &TestApp,
    from: &str,
    shift: &str,
    action: &str,
) -> reqwest::Response {
    let (_, html) = page(b, app, from).await;
    post_form(
        b,
        app,
        &format!("/agent/shifts/{shift}/{action}"),
        &[("csrf_token", &csrf_of(&html))],
    )
    .await
}

both_backends! {
    async fn the_job_board_lists_open_shifts_and_claims_by_form(app) {
        // Signed out: to sign-in, and back here afterwards.
        let res = browser().get(app.url("/agent/shifts/open")).send().await.unwrap();
        assert_eq!(location(&res), "/sign-in?next=/agent/shifts/open");

        let shop = app.merchant("Tea House").await;
        let (_, shifts) = booked(&app, &shop, "general", 5, (8, 12), 2).await;
        past_early_access(&app);

        // Not certified yet: the empty board says how to get access.
        let newcomer = app.agent("Newcomer").await;
        let n = signed_in(&app, &newcomer.email).await;
        let (status, html) = page(&n, &app, "/agent/shifts/open").await;
        assert_eq!(status, 200);
        assert!(html.contains("You are not certified for any skill yet"), "{html}");
        assert!(html.contains(r#"href="/agent/trials""#));
        assert!(html.contains(r#"<li><a href="/agent/shifts/open">Job board</a></li>"#), "the nav links to the board");
        assert!(html.contains(r#"<li><a href="/agent/shifts">My shifts</a></li>"#), "the nav links to my shifts");

        let agent = certified(&app, "Wang Fang", "general").await;
        let rival = certified(&app, "Li Lei", "general").await;
        let b = signed_in(&app, &agent.email).await;
        let r = signed_in(&app, &rival.email).await;
        let (status, html) = page(&b, &app, "/agent/shifts/open").await;
        assert_eq!(status, 200);
        assert!(html.contains("Tea House") && html.contains("General"), "{html}");
        assert!(html.contains(&format!("{} 08:00 – 12:00 (Asia/Shanghai)", crate::helpers::day(5))), "{html}");
        assert!(html.contains("¥96.00"), "4 hours at 24.00: {html}");
        assert!(html.contains(&format!(r#"action="/agent/shifts/{}/claim""#, shifts[0])));
        assert!(html.contains(r#"<label for="filter-date">"#) && html.contains(r#"<label for="filter-skill">"#));
        assert!(html.contains(r#"<span class="visually-hidden"> Tea House, "#), "claim buttons name their shift");
        assert!(html.contains("Times are shown in your time zone, Asia/Shanghai."));
        let zh = b.get(app.url("/agent/shifts/open")).header("accept-language", "zh-CN").send().await.unwrap().text().await.unwrap();
        assert!(zh.contains("招工板") && zh.contains("认领"), "{zh}");

        // Filters: another day has nothing.
        let (_, none) = page(&b, &app, &format!("/agent/shifts/open?date={}&skill=&merchant=", crate::helpers::day(9))).await;
        assert!(none.contains("No open shifts match these filters."), "{none}");
        let (status, bad) = page(&b, &app, "/agent/shifts/open?date=someday").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.contains(r#"role="alert""#) && bad.contains("Choose a day like"), "{bad}");

        // The rival loads the board before the claim; their form is stale.
        let (_, rival_board) = page(&r, &app, "/agent/shifts/open").await;

        // The claim form is refused without its CSRF token.
        let path = format!("/agent/shifts/{}/claim", shifts[0]);
        let res = post_form(&b, &app, &path, &[]).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let res = post_form(&b, &app, &path, &[("csrf_token", "forged")]).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let (_, still) = page(&r, &app, "/agent/shifts/open").await;
        assert!(still.contains(&path), "nothing claimed");

        let res = post_form(&b, &app, &path, &[("csrf_token", &csrf_of(&html))]).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let to = location(&res);
        assert_eq!(to, "/agent/shifts/open?done=claimed");
        let (_, after) = page(&b, &app, &to).await;
        assert!(after.contains(r#"role="status""#) && after.contains("You claimed the shift."), "{after}");
        assert!(!after.contains(&path), "a claimed shift leaves the board");

        // The rival's stale form: refused in words, in their language.
        let res = r
            .post(app.url(&path))
            .header("accept-language", "zh-CN")
            .form(&[("csrf_token", csrf_of(&rival_board))])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CONFLICT);
        let text = res.text().await.unwrap();
        assert!(text.contains(r#"role="alert""#) && text.contains("其他客服已先认领了此班次。"), "{text}");
        let res = post_form(&r, &app, &path, &[("csrf_token", &csrf_of(&rival_board))]).await;
        assert!(res.text().await.unwrap().contains("Another agent claimed this shift first."));

        // Overlapping the agent's own claim: its own message.
        let res = post_form(&b, &app, &format!("/agent/shifts/{}/claim", shifts[1]), &[("csrf_token", &csrf_of(&html))]).await;
        assert_eq!(res.status(), StatusCode::CONFLICT);
        assert!(res.text().await.unwrap().contains("This shift overlaps another of your shifts"));

        // My shifts: the claimed shift with its buttons, the week table, feed and preferences.
        let (status, mine) = page(&b, &app, "/agent/shifts").await;
        assert_eq!(status, 200);
        assert!(mine.contains(&format!(r#"id="shift-{}""#, shifts[0])), "{mine}");
        assert!(mine.contains("Claimed"));
        assert!(mine.contains(&format!(r#"action="/agent/shifts/{}/release""#, shifts[0])));
        assert!(mine.contains(&format!(r#"action="/agent/shifts/{}/swap""#, shifts[0])));
        assert!(!mine.contains("/check-in"), "check-in is not open days ahead");
        assert!(mine.contains("Check-in opens at"));
        assert!(mine.contains("<caption>Your shifts from") && mine.contains(r#"<th scope="row">"#));
        assert!(mine.contains("/calendar/") && mine.contains(".ics"), "the feed address");
        assert!(mine.contains(r#"<label for="pref-auto-assign">"#) && mine.contains(r#"<label for="pref-urgent">"#));
        let (_, rival_mine) = page(&r, &app, "/agent/shifts").await;
        assert!(rival_mine.contains("You hold no upcoming shifts."), "{rival_mine}");

        // Other roles get what other agent pages give them.
        let s = signed_in(&app, &shop.email).await;
        for path in ["/agent/shifts", "/agent/shifts/open", "/agent/shifts/swaps"] {
            assert_eq!(page(&s, &app, path).await.0, StatusCode::FORBIDDEN, "{path}");
        }
    }

    async fn my_shifts_check_in_release_swap_and_preferences(app) {
        let shop = app.merchant("Tea House").await;
        let (_, shifts) = booked(&app, &shop, "general", 5, (8, 16), 1).await;
        past_early_access(&app);
        let agent = certified(&app, "Wang Fang", "general").await;
        let taker = certified(&app, "Li Lei", "general").await;
        let b = signed_in(&app, &agent.email).await;
        let t = signed_in(&app, &taker.email).await;
        for s in &shifts {
            let res = act(&b, &app, "/agent/shifts/open", s, "claim").await;
            assert_eq!(res.status(), StatusCode::SEE_OTHER);
        }

        // Offer the second shift; the other agent takes it over from the swap board.
        let (_, empty) = page(&t, &app, "/agent/shifts/swaps").await;
        assert!(empty.contains("Nobody offers a shift for a swap right now."), "{empty}");
        let res = act(&b, &app, "/agent/shifts", &shifts[1], "swap").await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&res), format!("/agent/shifts?done=offered#shift-{}", shifts[1]));
        let (_, mine) = page(&b, &app, "/agent/shifts?done=offered").await;
        assert!(mine.contains("Your shift is on the swap board") && mine.contains("Offered on the swap board."));
        assert!(mine.contains(&format!(r#"action="/agent/shifts/{}/swap/withdraw""#, shifts[1])));
        let (_, board) = page(&t, &app, "/agent/shifts/swaps").await;
        assert!(board.contains(&format!(r#"action="/agent/shifts/{}/take""#, shifts[1])), "{board}");
        let res = act(&t, &app, "/agent/shifts/swaps", &shifts[1], "take").await;
        assert_eq!(location(&res), "/agent/shifts/swaps?done=taken");
        let (_, theirs) = page(&t, &app, "/agent/shifts").await;
        assert!(theirs.contains(&format!(r#"id="shift-{}""#, shifts[1])));
        let (_, mine) = page(&b, &app, "/agent/shifts").await;
        assert!(mine.contains("Taken over by another agent"), "the past list says how it ended: {mine}");

        // Too early to check in: refused in words.
        let start = shift_start(&app, &shifts[0]).await;
        clock_to(&app, start - Duration::hours(12));
        let (_, mine) = page(&b, &app, "/agent/shifts").await;
        assert!(mine.contains("releasing now counts as a late release"), "past the free-release cutoff: {mine}");
        assert!(mine.contains(r#"aria-describedby="warn-"#));
        let res = act(&b, &app, "/agent/shifts", &shifts[0], "check-in").await;
        assert_eq!(res.status(), StatusCode::CONFLICT);
        assert!(res.text().await.unwrap().contains("Check-in is not open yet; it opens at"));

        // In the window: the button, then checked in, then check out.
        clock_to(&app, start - Duration::minutes(20));
        let (_, mine) = page(&b, &app, "/agent/shifts").await;
        assert!(mine.contains(&format!(r#"action="/agent/shifts/{}/check-in""#, shifts[0])), "{mine}");
        let res = act(&b, &app, "/agent/shifts", &shifts[0], "check-in").await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let (_, mine) = page(&b, &app, &location(&res)).await;
        assert!(mine.contains("You are checked in.") && mine.contains("Checked in"), "{mine}");
        assert!(mine.contains(&format!(r#"action="/agent/shifts/{}/check-out""#, shifts[0])));
        assert!(!mine.contains(&format!(r#"action="/agent/shifts/{}/release""#, shifts[0])));
        clock_to(&app, start + Duration::hours(3));
        let res = act(&b, &app, "/agent/shifts", &shifts[0], "check-out").await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let (_, mine) = page(&b, &app, "/agent/shifts").await;
        assert!(mine.contains("Worked"), "{mine}");

        // Preferences and the calendar address.
        let (_, mine) = page(&b, &app, "/agent/shifts").await;
        assert!(!mine.contains(r#"name="urgent_alerts" value="on" checked"#));
        let res = post_form(&b, &app, "/agent/shifts/preferences", &[("csrf_token", &csrf_of(&mine)), ("urgent_alerts", "on")]).await;
        assert_eq!(location(&res), "/agent/shifts?done=preferences#preferences");
        let (_, saved) = page(&b, &app, "/agent/shifts?done=preferences").await;
        assert!(saved.contains(r#"name="urgent_alerts" value="on" checked"#) && saved.contains("Your shift preferences are saved."));
        assert!(!saved.contains(r#"name="auto_assign" value="on" checked"#));
        let url_re = regex::Regex::new(r#"id="calendar-url" value="([^"]+)""#).unwrap();
        let before = url_re.captures(&saved).unwrap()[1].to_owned();
        let res = post_form(&b, &app, "/agent/shifts/calendar/rotate", &[]).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "rotating needs the CSRF token");
        let res = post_form(&b, &app, "/agent/shifts/calendar/rotate", &[("csrf_token", &csrf_of(&saved))]).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let (_, rotated) = page(&b, &app, "/agent/shifts").await;
        assert_ne!(url_re.captures(&rotated).unwrap()[1].to_owned(), before);
    }
}
