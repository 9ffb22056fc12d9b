-- GET with HTTP/1.1 keep-alive (wrk's default request), plus the BENCH summary line.
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "report.lua")
