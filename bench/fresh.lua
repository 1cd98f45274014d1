-- bench/fresh.lua - wrk script: every request gets a query argument of its own
-- ("nocache=<thread>-<n>"), which no page reads but which is part of the page cache's
-- key, so that every request is rendered fresh (a page cache miss), as the first view
-- after a write is. The store's own caches (a word's ranked list, facet counts) stay
-- warm, as they do for a new query on an unchanged catalog.
local threads = 0

function setup(thread)
    thread:set("tid", threads)
    threads = threads + 1
end

local n = 0

function request()
    n = n + 1
    local sep = string.find(wrk.path, "?", 1, true) and "&" or "?"
    return wrk.format(nil, wrk.path .. sep .. "nocache=" .. tostring(tid) .. "-" .. n)
end
