//! Making a webhook on a text channel: the `State` side of the `webhooks` module's data.

use super::State;
use crate::snowflake;
use crate::validate::WEBHOOK_NAME_MAX;
use crate::webhooks::{new_token, WebhookError, WebhookRec};

impl State {
    /// Makes a webhook on a text channel.
    pub fn add_webhook(&mut self, channel_id: u64, name: &str) -> Result<WebhookRec, WebhookError> {
        let c = self
            .channels
            .get(&channel_id)
            .ok_or(WebhookError::UnknownChannel)?;
        if c.thread.is_some() {
            return Err(WebhookError::Thread);
        }
        let n = name.chars().count();
        if n == 0 || n > WEBHOOK_NAME_MAX {
            return Err(WebhookError::BadName);
        }
        let id = snowflake::next_id();
        let w = WebhookRec {
            id,
            token: new_token(id),
            channel_id,
            name: name.to_string(),
        };
        self.webhooks.insert(id, w.clone());
        Ok(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhooks::WebhookAuthor;

    #[test]
    fn webhooks_belong_to_text_channels() {
        let mut s = State::new("bot", true);
        let c = s.default_channel_id;
        let w = s.add_webhook(c, "alerts").unwrap();
        assert_eq!(w.channel_id, c);
        assert_eq!(s.webhooks[&w.id].token, w.token);
        let bot = s.bot_id;
        let t = s.start_thread(c, None, "t", bot, 60).unwrap();
        assert_eq!(s.add_webhook(t, "x").unwrap_err(), WebhookError::Thread);
        assert_eq!(
            s.add_webhook(1, "x").unwrap_err(),
            WebhookError::UnknownChannel
        );
        assert_eq!(s.add_webhook(c, "").unwrap_err(), WebhookError::BadName);
        assert_eq!(
            s.add_webhook(c, &"n".repeat(81)).unwrap_err(),
            WebhookError::BadName
        );
        let author = WebhookAuthor {
            webhook_id: w.id,
            username: "alerts".into(),
        };
        crate::validate::check_response("#/components/schemas/UserResponse", &author.user_json())
            .unwrap();
    }
}
