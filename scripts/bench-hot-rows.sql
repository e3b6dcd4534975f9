-- pgbench script: the database work of one rush booking without the service around it.
-- Every transaction takes a seat in the same 16 hourly rows (locked in order, as the
-- service does) and records a booking: the ceiling for bookings that all want one hour.
BEGIN;
SELECT h FROM hot WHERE skill = 'general' ORDER BY h FOR UPDATE;
UPDATE hot SET sold = sold + 1 WHERE skill = 'general' AND capacity - sold >= 1;
INSERT INTO hot_bookings (at) VALUES (now());
END;
