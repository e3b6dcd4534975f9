DROP TABLE exam_questions;
DROP TABLE exam_tracks;
