//! Cases for link previews (issue 7).

use chat_domain::service::EditMessage;

use super::{dm_with, send, start};
use crate::Harness;

pub async fn links_are_unfurled_onto_their_message(h: Harness) {
    let ann = h.user(1, 10).await;
    let dm = start(&h, ann, dm_with(ann)).await;
    let text = "see https://preview.test/a, https://nothing.test/x and https://preview.test/b \
                plus https://preview.test/c and https://preview.test/d";
    let message = send(&h, ann, dm, text).await.message.id;
    assert!(
        h.service
            .get_message(ann, message)
            .await
            .unwrap()
            .link_previews
            .is_empty(),
        "asynchronous"
    );
    assert_eq!(h.service.unfurl_queued(10).await.unwrap(), 1);
    let view = h.service.get_message(ann, message).await.unwrap();
    let titles: Vec<_> = view
        .link_previews
        .iter()
        .map(|p| p.title.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        titles,
        vec!["Title of a", "Title of b"],
        "the first three links, failures left out"
    );
    assert_eq!(view.link_previews[0].url, "https://preview.test/a");
    let outbox = h.outbox().await;
    assert_eq!(
        outbox.last().map(|(t, _)| t.as_str()),
        Some("message.updated")
    );
    assert_eq!(
        h.service.unfurl_queued(10).await.unwrap(),
        0,
        "a job is taken once"
    );
}

pub async fn the_same_link_is_fetched_once(h: Harness) {
    let ann = h.user(1, 10).await;
    let dm = start(&h, ann, dm_with(ann)).await;
    for _ in 0..3 {
        send(&h, ann, dm, "again https://preview.test/same").await;
    }
    send(&h, ann, dm, "dead https://nothing.test/dead").await;
    send(&h, ann, dm, "dead again https://nothing.test/dead").await;
    while h.service.unfurl_queued(10).await.unwrap() > 0 {}
    assert_eq!(h.fetches(), 2, "one fetch per link, failures cached too");
}

pub async fn edits_replace_previews_and_deletes_drop_them(h: Harness) {
    let ann = h.user(1, 10).await;
    let dm = start(&h, ann, dm_with(ann)).await;
    let message = send(&h, ann, dm, "https://preview.test/old")
        .await
        .message
        .id;
    h.service.unfurl_queued(10).await.unwrap();
    let edit = EditMessage {
        content: Some("now https://preview.test/new".to_owned()),
        ..EditMessage::default()
    };
    let edited = h.service.edit_message(ann, message, edit).await.unwrap();
    assert!(
        edited.link_previews.is_empty(),
        "old previews go with the old content"
    );
    h.service.unfurl_queued(10).await.unwrap();
    let view = h.service.get_message(ann, message).await.unwrap();
    assert_eq!(
        view.link_previews
            .iter()
            .map(|p| p.url.as_str())
            .collect::<Vec<_>>(),
        vec!["https://preview.test/new"]
    );

    let doomed = send(&h, ann, dm, "https://preview.test/doomed")
        .await
        .message
        .id;
    h.service.delete_message(ann, doomed).await.unwrap();
    let before = h.outbox().await.len();
    h.service.unfurl_queued(10).await.unwrap();
    let view = h.service.get_message(ann, doomed).await.unwrap();
    assert!(view.link_previews.is_empty());
    assert_eq!(
        h.outbox().await.len(),
        before,
        "nothing published for a deleted message"
    );
}
