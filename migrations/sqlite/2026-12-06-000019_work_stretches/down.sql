DROP TRIGGER work_stretches_check_in_deleted;
DROP TRIGGER work_stretches_check_in_changed;
DROP TRIGGER work_stretches_check_in_set;
DROP TRIGGER work_stretches_check_in;
DROP VIEW work_stretch_rebuild;
DROP VIEW work_stretch_merge;
DROP TABLE work_stretches;
