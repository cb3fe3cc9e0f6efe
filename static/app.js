// The room page: filled in below.
