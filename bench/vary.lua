-- bench/vary.lua - a different URL for (almost) every request, so that Kaifang's
-- response caches (per-thread response cache, per-store count/facet cache) mostly miss.
--
--   wrk ... -s bench/vary.lua http://HOST:PORT -- MODE [N]
--
-- MODE: show     package_show of a random gen-NNNNNN of N datasets
--       search   package_search of a random word (English or Chinese) at a random page
--       facets   package_search rows=0 with tag/organization facets for a random word+year
--       page     the web page of a random gen-NNNNNN of N datasets (/dataset/gen-NNNNNN)
--       results  the web search page of a random word (English or Chinese) at a random
--                page 1-150 (/dataset?q=WORD&page=P; every word has more pages)
local words = {
  "population", "census", "traffic", "transport", "road", "rail", "water", "river", "quality",
  "weather", "climate", "budget", "revenue", "school", "hospital", "health", "employment",
  "housing", "energy", "electricity", "emissions", "forest", "airport", "flight", "accident",
  "crime", "trade", "tourism", "museum", "waste",
  "%E4%BA%BA%E5%8F%A3", "%E4%BA%A4%E9%80%9A", "%E6%B0%B4%E8%B4%A8", "%E5%A4%A9%E6%B0%94",
  "%E9%A2%84%E7%AE%97", "%E5%AD%A6%E6%A0%A1", "%E5%8C%BB%E9%99%A2", "%E8%83%BD%E6%BA%90",
  "%E6%9C%BA%E5%9C%BA", "%E6%97%85%E6%B8%B8",
}
local mode, n
local counter = 0

function init(args)
  mode = args[1] or "show"
  n = tonumber(args[2] or "100000")
  -- A different sequence per wrk thread.
  math.randomseed(os.time() * 1000 + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
end

function request()
  counter = counter + 1
  local path
  if mode == "show" then
    path = string.format("/api/3/action/package_show?id=gen-%06d", math.random(0, n - 1))
  elseif mode == "page" then
    path = string.format("/dataset/gen-%06d", math.random(0, n - 1))
  elseif mode == "results" then
    path = string.format("/dataset?q=%s&page=%d", words[math.random(#words)], math.random(1, 150))
  elseif mode == "search" then
    path = string.format("/api/3/action/package_search?q=%s&start=%d",
                         words[math.random(#words)], math.random(0, 300) * 10)
  else
    path = string.format("/api/3/action/package_search?rows=0&q=%s%%20tags:year-%d" ..
                         "&facet.field=%%5B%%22tags%%22%%2C%%22organization%%22%%5D",
                         words[math.random(#words)], 2000 + math.random(0, 23))
  end
  return wrk.format("GET", path)
end
