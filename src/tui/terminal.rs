//! The terminal itself: raw mode and the alternate screen in and out, the panic hook that
//! restores it from anywhere, drawing one frame inside a synchronized update, and the
//! OSC 52 clipboard.

use super::app::App;
use super::theme::Theme;
use super::ui;
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::terminal::{
    BeginSynchronizedUpdate, EndSynchronizedUpdate, EnterAlternateScreen, LeaveAlternateScreen,
    disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use std::io::{Stdout, Write, stdout};

pub type Screen = Terminal<CrosstermBackend<Stdout>>;

pub fn setup() -> std::io::Result<Screen> {
    enable_raw_mode()?;
    let mut out = stdout();
    if let Err(e) = crossterm::execute!(out, EnterAlternateScreen, EnableMouseCapture) {
        restore_terminal();
        return Err(e);
    }
    Terminal::new(CrosstermBackend::new(out))
}

/// Leaves the alternate screen and raw mode; safe to call more than once.
pub fn restore_terminal() {
    let _ = crossterm::execute!(
        stdout(),
        EndSynchronizedUpdate,
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = disable_raw_mode();
}

/// A panic anywhere, a background task included, restores the terminal, prints the
/// report and ends the process: a cockpit half-alive after a panic would show lies.
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        previous(info);
        eprintln!("golive: this is a bug; runbook ticks already shown were saved. Exiting.");
        std::process::exit(101);
    }));
}

pub fn draw(terminal: &mut Screen, app: &App, theme: &Theme) -> color_eyre::Result<()> {
    crossterm::queue!(terminal.backend_mut(), BeginSynchronizedUpdate)?;
    app.hyperlink.borrow_mut().take();
    let mut link_at = None;
    terminal.draw(|frame| {
        ui::render(frame, app, theme);
        link_at = app
            .hyperlink
            .borrow()
            .as_ref()
            .and_then(|(text, url)| hyperlink_at(frame.buffer_mut(), text, url));
    })?;
    if let Some((x, y, text, url)) = link_at {
        // Written over the same characters the frame holds, so the buffer stays true.
        crossterm::queue!(terminal.backend_mut(), crossterm::cursor::MoveTo(x, y))?;
        write!(terminal.backend_mut(), "{}", osc8(&url, &text))?;
    }
    crossterm::queue!(terminal.backend_mut(), EndSynchronizedUpdate)?;
    terminal.backend_mut().flush()?;
    Ok(())
}

/// Where the frame shows `text` (its first row holding it), with what to write there. A
/// text cut short with `…` is linked up to the cut.
fn hyperlink_at(
    buffer: &ratatui::buffer::Buffer,
    text: &str,
    url: &str,
) -> Option<(u16, u16, String, String)> {
    let text = text.trim_end_matches('…');
    if text.is_empty() || !text.is_ascii() {
        return None;
    }
    let wanted: Vec<char> = text.chars().collect();
    let area = buffer.area;
    for y in area.top()..area.bottom() {
        // One char per cell: wide characters and their padding cells keep their columns.
        let row: Vec<char> = (area.left()..area.right())
            .map(|x| buffer[(x, y)].symbol().chars().next().unwrap_or(' '))
            .collect();
        if let Some(i) = row
            .windows(wanted.len())
            .position(|w| w == wanted.as_slice())
        {
            return Some((area.left() + i as u16, y, text.to_string(), url.to_string()));
        }
    }
    None
}

/// OSC 8: `text` as a hyperlink to `url`; the URL's control characters are dropped.
pub fn osc8(url: &str, text: &str) -> String {
    let url: String = url.chars().filter(|c| !c.is_control()).collect();
    format!("\x1b]8;;{url}\x1b\\{text}\x1b]8;;\x1b\\")
}

/// OSC 52: the terminal puts the text on the clipboard, over ssh too.
pub fn copy_to_clipboard(text: &str) {
    let mut out = stdout();
    let _ = write!(out, "\x1b]52;c;{}\x07", base64(text.as_bytes()));
    let _ = out.flush();
}

/// Standard base64 with padding, for OSC 52.
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_the_rfc_4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(super::base64(input.as_bytes()), want);
        }
    }
}

#[cfg(test)]
mod hyperlink_tests {
    use super::*;
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;

    #[test]
    fn a_link_shown_in_the_frame_is_found_and_wrapped_in_osc_8() {
        let mut buffer = Buffer::empty(Rect::new(0, 0, 40, 3));
        buffer.set_string(
            1,
            2,
            "│g https://grafana.example/d/x…",
            ratatui::style::Style::default(),
        );
        let url = "https://grafana.example/d/x?from=1&to=now";
        // A link cut short is linked up to the cut, after the pane's border.
        let found = hyperlink_at(&buffer, "https://grafana.example/d/x…", url);
        assert_eq!(
            found,
            Some((
                4,
                2,
                "https://grafana.example/d/x".to_string(),
                url.to_string()
            ))
        );
        assert_eq!(hyperlink_at(&buffer, "https://elsewhere", url), None);
        assert_eq!(
            osc8("https://g.example/\x1b]evil", "g"),
            "\x1b]8;;https://g.example/]evil\x1b\\g\x1b]8;;\x1b\\"
        );
    }
}
