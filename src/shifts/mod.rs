//! Shifts: the job board where certified agents claim the seats merchants booked (issue 5,
//! in progress). So far the pure claim rules; the limits will be read from `seat-rules/`.

pub mod claim;
