/*
 * synth.c - synthetic people (synth.h). The word lists are common surnames, given-name
 * characters, the ethnic groups of China weighted roughly as the census counts them,
 * occupations and ICD-10 diagnoses: none of it is anyone's record.
 */
#include "privacy/detect.h"
#include "privacy/gb2260.h"
#include "privacy/synth.h"
#include "core/util.h"

static const char *const surnames[] = {
        "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐",   "孙",   "马", "朱",
        "胡", "郭", "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐",   "许",   "韩", "冯",
        "邓", "曹", "彭", "曾", "肖", "田", "董", "袁", "潘", "于", "蒋",   "蔡",   "余", "杜",
        "叶", "程", "苏", "魏", "吕", "丁", "任", "沈", "姚", "卢", "姜",   "崔",   "钟", "谭",
        "陆", "汪", "范", "金", "石", "廖", "贾", "夏", "韦", "方", "白",   "邹",   "孟", "熊",
        "秦", "邱", "江", "尹", "薛", "段", "雷", "侯", "龙", "史", "欧阳", "司马",
};

static const char *const given[] = {
        "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
        "涛", "明", "超", "兰", "霞", "平", "刚", "桂", "英", "华", "玉", "萍", "红", "玲",
        "燕", "彬", "鹏", "辉", "建", "国", "文", "婷", "宇", "浩", "然", "涵", "欣", "怡",
        "轩", "桐", "思", "远", "佳", "琪", "博", "晨", "阳", "雪", "梅", "凯", "鑫", "海",
};

struct weighted {
    const char *value;
    unsigned weight;
};

/* per mille, about the 2020 census shares */
static const struct weighted ethnicities[] = {
        {"汉族", 911}, {"壮族", 14},  {"维吾尔族", 8}, {"回族", 8},     {"苗族", 8},
        {"满族", 7},   {"彝族", 7},   {"土家族", 7},   {"藏族", 5},     {"蒙古族", 5},
        {"侗族", 3},   {"布依族", 3}, {"白族", 2},     {"哈萨克族", 1}, {"朝鲜族", 1},
};

static const char *const occupations[] = {
        "教师",       "工程师", "医生",     "护士",     "农民",     "工人", "公务员",
        "个体经营者", "学生",   "退休人员", "销售人员", "司机",     "会计", "厨师",
        "律师",       "程序员", "快递员",   "保安",     "建筑工人", "无业",
};

static const char *const diagnoses[] = {
        "I10 原发性高血压",   "E11.9 2型糖尿病",      "J18.9 肺炎",       "K35.8 急性阑尾炎",
        "I21.9 急性心肌梗死", "J44.9 慢性阻塞性肺病", "N18.9 慢性肾脏病", "C34.9 肺恶性肿瘤",
        "S72.0 股骨颈骨折",   "O80 单胎顺产",         "I63.9 脑梗死",     "K80.2 胆囊结石",
        "A15.0 肺结核",       "F32.9 抑郁发作",       "M17.9 膝关节病",   "J06.9 急性上呼吸道感染",
        "K29.7 胃炎",         "I50.9 心力衰竭",       "C16.9 胃恶性肿瘤", "E78.5 高脂血症",
};

/* Mobile prefixes within the CN numbering plan (detect_cn_mobile()). */
static const char *const mobile_prefixes[] = {
        "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152",
        "153", "155", "156", "157", "158", "159", "166", "176", "177", "180", "181", "182",
        "183", "185", "186", "187", "188", "189", "191", "198", "199", "147",
};

/* splitmix64 (Steele, Lea, Flood 2014): a small, well-mixed sequence for a seed. */
static uint64_t next64(struct synth *g)
{
    uint64_t z = (g->state += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A number in [0, n) (the modulo bias is below 2^-40 for the small n used here). */
static uint32_t below(struct synth *g, uint32_t n)
{
    return (uint32_t)(next64(g) % n);
}

static const char *pick_weighted(struct synth *g, const struct weighted *w, size_t n)
{
    unsigned total = 0, r;

    for (size_t i = 0; i < n; i++)
        total += w[i].weight;
    r = below(g, total);
    for (size_t i = 0; i < n; i++) {
        if (r < w[i].weight)
            return w[i].value;
        r -= w[i].weight;
    }
    return w[0].value;
}

void synth_init(struct synth *g, uint64_t seed)
{
    g->state = seed;
}

/* A county code in both lists (real and current administrative units). */
static uint32_t pick_county(struct synth *g)
{
    for (;;) {
        const struct gb2260_county *c = &gb2260_counties[below(g, (uint32_t)gb2260_ncounties)];

        if ((c->flags & (GB2260_MCA | GB2260_NBS)) == (GB2260_MCA | GB2260_NBS) &&
            !(c->flags & GB2260_NBSONLY))
            return c->code;
    }
}

static void pick_birth(struct synth *g, unsigned *y, unsigned *m, unsigned *d)
{
    do {
        *y = 1940 + below(g, 66);
        *m = 1 + below(g, 12);
        *d = 1 + below(g, 31);
    } while (!detect_date_valid(*y, *m, *d));
}

void synth_person_next(struct synth *g, struct synth_person *p)
{
    unsigned y, m, d, seq;
    bool male;
    size_t n;

    memset(p, 0, sizeof(*p));
    xsnprintf(p->name, sizeof(p->name), "%s%s%s", surnames[below(g, ARRAY_SIZE(surnames))],
              given[below(g, ARRAY_SIZE(given))],
              below(g, 3) ? given[below(g, ARRAY_SIZE(given))] : "");
    male = below(g, 2) == 0;
    p->gender = male ? "男" : "女";
    p->ethnicity = pick_weighted(g, ethnicities, ARRAY_SIZE(ethnicities));
    pick_birth(g, &y, &m, &d);
    xsnprintf(p->birth_date, sizeof(p->birth_date), "%04u-%02u-%02u", y, m, d);
    /* sequence: odd for men, even for women (GB 11643-1999 §4.4) */
    seq = below(g, 500) * 2 + (male ? 1 : 0);
    xsnprintf(p->id_number, sizeof(p->id_number), "%06u%04u%02u%02u%03u", pick_county(g), y, m, d,
              seq);
    n = strlen(p->id_number);
    p->id_number[n] = detect_cn_resident_id_check_char(p->id_number);
    p->id_number[n + 1] = '\0';
    xsnprintf(p->phone, sizeof(p->phone), "%s%08u",
              mobile_prefixes[below(g, ARRAY_SIZE(mobile_prefixes))], below(g, 100000000));
    p->occupation = occupations[below(g, ARRAY_SIZE(occupations))];
    p->diagnosis = diagnoses[below(g, ARRAY_SIZE(diagnoses))];
    /* skewed: most between 20,000 and 120,000 yuan, a few far above */
    p->income = 20000 + below(g, 100000) + (below(g, 20) ? 0 : below(g, 900000));
    if (below(g, 50) == 0)
        xsnprintf(p->remark, sizeof(p->remark), "家属联系电话%s%08u",
                  mobile_prefixes[below(g, ARRAY_SIZE(mobile_prefixes))], below(g, 100000000));
    else
        xsnprintf(p->remark, sizeof(p->remark), "无");
}

int synth_people_write(FILE *out, uint64_t rows, uint64_t seed, struct err *err)
{
    struct synth g;
    struct synth_person p;

    synth_init(&g, seed);
    fputs(SYNTH_PEOPLE_HEADER "\n", out);
    for (uint64_t i = 0; i < rows; i++) {
        synth_person_next(&g, &p);
        /* no value holds a comma, quote or line break: no quoting needed */
        fprintf(out, "%" PRIu64 ",%s,%s,%s,%s,%s,%s,%s,%s,%" PRIu32 ",%s\n", i + 1, p.name,
                p.gender, p.ethnicity, p.birth_date, p.id_number, p.phone, p.occupation,
                p.diagnosis, p.income, p.remark);
    }
    if (fflush(out) || ferror(out))
        return err_set(err, ERR_INTERNAL, NULL, "cannot write the synthetic table: %s",
                       strerror(errno));
    return 0;
}
