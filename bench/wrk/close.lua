-- One request per connection: every request says "Connection: close", so wrk opens a new
-- connection after each response.
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "report.lua")
wrk.headers["Connection"] = "close"
