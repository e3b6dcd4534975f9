DROP TABLE notifications_sent;
DROP TABLE shifts;
DROP TABLE bookings;
DROP TABLE seat_inventory;
