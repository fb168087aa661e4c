"""Checks training/eval/blind.jsonl: counts, fields and ranges (written with the blind set; produces no text)."""
import json, collections
recs=[json.loads(l) for l in open(__import__('os').path.join(__import__('os').path.dirname(__import__('os').path.abspath(__file__)), 'blind.jsonl'), encoding='utf-8')]
print('records', len(recs))
C=collections.Counter
keys0=None; featkeys=None; callkeys=None; labelkeys=None
for i,r in enumerate(recs,1):
    assert r['interaction_id']==f'hw-c-{i:03d}', r['interaction_id']
    assert r['customer_id']==f'cus-hwc{i:03d}'
    ks=list(r.keys())
    if keys0 is None: keys0=ks
    assert ks==keys0,(i,ks)
    assert r['do_not_contact'] is False and r['split']=='test'
    assert r['product'] in ['wealth','insurance','fund','deposit','loan','credit_card']
    cp=r['campaign_id'].split('-')[2]
    assert cp==r['product'].replace('_',''),(i,cp)
    assert r['branch_id'].startswith(r['region_id']+'-'),i
    t=r['turns']; assert 2<=len(t)<=16,(i,len(t))
    offs=[x['offset_ms'] for x in t]; assert offs==sorted(offs) and len(set(offs))==len(offs),i
    assert all(x['speaker'] in('robot','customer') and x['text'].strip() for x in t),i
    assert all(list(x.keys())==['speaker','text','offset_ms'] for x in t)
    assert r['call']['duration_s']*1000>offs[-1],i
    f=r['features']
    assert list(f.keys())==['aum_band','age_band','tenure_years','products_held','digital_logins_30d','past_campaign_contacts','past_campaign_responses','risk_assessment'],i
    assert 0<=f['aum_band']<=5 and 0<=f['age_band']<=5 and f['past_campaign_responses']<=f['past_campaign_contacts'],i
    assert f['risk_assessment'] in ('none','expired','valid')
    assert isinstance(f['tenure_years'],float) and isinstance(f['digital_logins_30d'],float),i
    assert list(r['call'].keys())==['duration_s','hour_of_day','channel'] and 8<=r['call']['hour_of_day']<=21,i
    L=r['label']
    assert list(L.keys())==['intent','tier','do_not_contact_request','language','tags','note'],i
    assert L['tier'] in ('high','medium','low','service_followup','suppressed',None),i
    if L['do_not_contact_request']: assert L['tier']=='suppressed' and 'dnc' in L['tags'],i
    elif L['tier']=='suppressed': raise AssertionError(i)
    has_cjk=any('\u4e00'<=ch<='\u9fff' for x in t for ch in x['text'])
    assert (L['language']=='zh')==has_cjk,(i,'lang')
by=lambda k:C(k(r) for r in recs)
print('intent',by(lambda r:r['label']['intent']))
print('product',by(lambda r:r['product']))
print('language',by(lambda r:r['label']['language']))
print('dnc',by(lambda r:(r['label']['intent'],r['label']['do_not_contact_request'])) )
print('tier',by(lambda r:r['label']['tier']))
print('intent x tier',sorted(by(lambda r:(r['label']['intent'],r['label']['tier'])).items(), key=str))
print('intent x lang',sorted(by(lambda r:(r['label']['intent'],r['label']['language'])).items()))
print('intent x product',sorted(by(lambda r:(r['label']['intent'],r['product'])).items()))
print('turns',by(lambda r:len(r['turns'])))
print('tags',by(lambda r:0).__class__(t for r in recs for t in r['label']['tags']))
print('region',by(lambda r:r['region_id']))
