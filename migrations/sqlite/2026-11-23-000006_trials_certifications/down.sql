DROP TABLE certifications;
DROP TABLE trials;
DROP TABLE trial_slots;
ALTER TABLE exam_tracks DROP COLUMN trial;
DROP INDEX exam_attempts_queue_idx;
ALTER TABLE exam_attempts DROP COLUMN reviewed_at;
ALTER TABLE exam_attempts DROP COLUMN reviewed_by;
ALTER TABLE exam_attempts DROP COLUMN review;
ALTER TABLE exam_attempts DROP COLUMN scenario_points;
