//! Where each pane goes for a terminal size. One function, used by drawing and by mouse
//! hit-testing, so both agree. It reads only the sizes of what the panes hold.

use super::app::state::Pane;
use ratatui::layout::Rect;

pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;
const HEADER: u16 = 2;
const FOOTER: u16 = 1;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Areas {
    pub too_small: bool,
    pub header: Rect,
    pub gates: Rect,
    pub load: Rect,
    pub runbook: Rect,
    pub detail: Rect,
    pub footer: Rect,
}

impl Areas {
    pub fn pane(&self, pane: Pane) -> Rect {
        match pane {
            Pane::Gates => self.gates,
            Pane::Load => self.load,
            Pane::Runbook => self.runbook,
            Pane::Detail => self.detail,
        }
    }

    pub fn pane_at(&self, x: u16, y: u16) -> Option<(Pane, Rect)> {
        if self.too_small {
            return None;
        }
        Pane::ORDER
            .iter()
            .map(|p| (*p, self.pane(*p)))
            .find(|(_, r)| x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height)
    }
}

/// What the layout sizes panes by, besides the terminal: the gate pane's lines (group
/// headers included) and the longest phase's step count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Content {
    pub gate_lines: usize,
    pub longest_phase: usize,
}

pub fn areas(width: u16, height: u16, content: Content) -> Areas {
    let full = Rect::new(0, 0, width, height);
    if width < MIN_WIDTH || height < MIN_HEIGHT {
        return Areas {
            too_small: true,
            header: full,
            ..Areas::default()
        };
    }
    let header = Rect::new(0, 0, width, HEADER);
    let footer = Rect::new(0, height - FOOTER, width, FOOTER);
    let body_y = HEADER;
    let body_h = height - HEADER - FOOTER;

    let gates_needed = content.gate_lines as u16 + 2;
    let load_wanted = if height >= 40 {
        (body_h * 45 / 100).clamp(18, 30)
    } else {
        11
    };
    let top_max = (body_h * 55 / 100).max(10);
    let top_h = gates_needed.max(load_wanted).clamp(10, top_max);
    let bottom_y = body_y + top_h;
    let bottom_h = body_h - top_h;

    // Gate summaries are the longest text on screen; the load pane needs about 60 columns.
    let gates_w = if width >= 120 {
        width * 55 / 100
    } else {
        width / 2
    };
    let gates = Rect::new(0, body_y, gates_w, top_h);
    let load = Rect::new(gates_w, body_y, width - gates_w, top_h);

    let (runbook, detail) = if height >= 40 {
        let longest = content.longest_phase as u16;
        let runbook_h = (longest + 3).clamp(5, bottom_h.saturating_sub(6).max(5));
        (
            Rect::new(0, bottom_y, width, runbook_h),
            Rect::new(0, bottom_y + runbook_h, width, bottom_h - runbook_h),
        )
    } else {
        let runbook_w = width * 55 / 100;
        (
            Rect::new(0, bottom_y, runbook_w, bottom_h),
            Rect::new(runbook_w, bottom_y, width - runbook_w, bottom_h),
        )
    };
    Areas {
        too_small: false,
        header,
        gates,
        load,
        runbook,
        detail,
        footer,
    }
}
