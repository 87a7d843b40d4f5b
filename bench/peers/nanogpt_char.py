#!/usr/bin/env python3
# The peer for issue #4's speed target: nanoGPT (karpathy/nanoGPT, MIT) re-typed for its README's
# CPU run of shakespeare_char, since the repository cannot be fetched here. Same model (GPT-2
# block: LayerNorm without bias, GELU MLP 4x, learned positions, tied head, manual causal
# attention as on torch < 2.0), same init, same AdamW groups, schedule, clip, eval and log
# loop as nanoGPT's model.py / train.py with
#   --device=cpu --compile=False --eval_iters=20 --log_interval=1 --block_size=64
#   --batch_size=12 --n_layer=4 --n_head=4 --n_embd=128 --max_iters=2000
#   --lr_decay_iters=2000 --dropout=0.0   (config/train_shakespeare_char.py otherwise)
# and prepare.py's data (sorted characters, first 90% train, uint16 .bin files, memmapped per
# batch). Checkpoint writing is left out. Needs Debian's python3-torch and python3-numpy
# (apt-get install python3-torch python3-numpy); run with /usr/bin/python3.
#   THREADS=2 /usr/bin/python3 bench/peers/nanogpt_char.py ../shared/data/tinyshakespeare.txt
# Ends with one JSON line: seconds (whole run), val_loss, train_loss.
import json, math, os, sys, tempfile, time
import numpy as np, torch, torch.nn as nn
from torch.nn import functional as F
if os.environ.get('THREADS'): torch.set_num_threads(int(os.environ['THREADS']))
class LayerNorm(nn.Module):
    def __init__(s, ndim, bias):
        super().__init__(); s.weight = nn.Parameter(torch.ones(ndim)); s.bias = nn.Parameter(torch.zeros(ndim)) if bias else None
    def forward(s, x): return F.layer_norm(x, s.weight.shape, s.weight, s.bias, 1e-5)
class CausalSelfAttention(nn.Module):
    def __init__(s, c):
        super().__init__()
        s.c_attn = nn.Linear(c.n_embd, 3*c.n_embd, bias=c.bias); s.c_proj = nn.Linear(c.n_embd, c.n_embd, bias=c.bias)
        s.attn_dropout = nn.Dropout(c.dropout); s.resid_dropout = nn.Dropout(c.dropout)
        s.n_head=c.n_head; s.n_embd=c.n_embd
        s.register_buffer("bias", torch.tril(torch.ones(c.block_size, c.block_size)).view(1,1,c.block_size,c.block_size))
    def forward(s, x):
        B,T,C = x.size()
        q,k,v = s.c_attn(x).split(s.n_embd, dim=2)
        k = k.view(B,T,s.n_head,C//s.n_head).transpose(1,2); q = q.view(B,T,s.n_head,C//s.n_head).transpose(1,2); v = v.view(B,T,s.n_head,C//s.n_head).transpose(1,2)
        att = (q @ k.transpose(-2,-1)) * (1.0/math.sqrt(k.size(-1)))
        att = att.masked_fill(s.bias[:,:,:T,:T]==0, float('-inf'))
        att = F.softmax(att, dim=-1); att = s.attn_dropout(att)
        y = att @ v
        y = y.transpose(1,2).contiguous().view(B,T,C)
        return s.resid_dropout(s.c_proj(y))
class MLP(nn.Module):
    def __init__(s, c):
        super().__init__(); s.c_fc = nn.Linear(c.n_embd, 4*c.n_embd, bias=c.bias); s.gelu = nn.GELU(); s.c_proj = nn.Linear(4*c.n_embd, c.n_embd, bias=c.bias); s.dropout = nn.Dropout(c.dropout)
    def forward(s, x): return s.dropout(s.c_proj(s.gelu(s.c_fc(x))))
class Block(nn.Module):
    def __init__(s, c):
        super().__init__(); s.ln_1 = LayerNorm(c.n_embd, c.bias); s.attn = CausalSelfAttention(c); s.ln_2 = LayerNorm(c.n_embd, c.bias); s.mlp = MLP(c)
    def forward(s, x):
        x = x + s.attn(s.ln_1(x)); return x + s.mlp(s.ln_2(x))
class Cfg: pass
class GPT(nn.Module):
    def __init__(s, c):
        super().__init__(); s.config=c
        s.transformer = nn.ModuleDict(dict(wte=nn.Embedding(c.vocab_size,c.n_embd), wpe=nn.Embedding(c.block_size,c.n_embd), drop=nn.Dropout(c.dropout),
            h=nn.ModuleList([Block(c) for _ in range(c.n_layer)]), ln_f=LayerNorm(c.n_embd, c.bias)))
        s.lm_head = nn.Linear(c.n_embd, c.vocab_size, bias=False); s.transformer.wte.weight = s.lm_head.weight
        s.apply(s._init_weights)
        for pn,p in s.named_parameters():
            if pn.endswith('c_proj.weight'): torch.nn.init.normal_(p, mean=0.0, std=0.02/math.sqrt(2*c.n_layer))
        print("number of parameters: %.2fM" % ((sum(p.numel() for p in s.parameters()) - s.transformer.wpe.weight.numel())/1e6,))
    def _init_weights(s, m):
        if isinstance(m, nn.Linear):
            torch.nn.init.normal_(m.weight, mean=0.0, std=0.02)
            if m.bias is not None: torch.nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding): torch.nn.init.normal_(m.weight, mean=0.0, std=0.02)
    def forward(s, idx, targets=None):
        b,t = idx.size(); pos = torch.arange(0,t,dtype=torch.long)
        x = s.transformer.drop(s.transformer.wte(idx) + s.transformer.wpe(pos))
        for block in s.transformer.h: x = block(x)
        x = s.transformer.ln_f(x)
        logits = s.lm_head(x)
        return logits, F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
    def configure_optimizers(s, wd, lr, betas):
        pd = {pn:p for pn,p in s.named_parameters() if p.requires_grad}
        groups=[{'params':[p for p in pd.values() if p.dim()>=2],'weight_decay':wd},{'params':[p for p in pd.values() if p.dim()<2],'weight_decay':0.0}]
        return torch.optim.AdamW(groups, lr=lr, betas=betas)
    def estimate_mfu(s, fpb, dt):
        N = sum(p.numel() for p in s.parameters()); c=s.config; L,H,Q,T = c.n_layer,c.n_head,c.n_embd//c.n_head,c.block_size
        return (6*N+12*L*H*Q*T)*T*fpb*(1.0/dt)/312e12
# config/train_shakespeare_char.py + README CPU overrides
eval_interval=250; eval_iters=20; log_interval=1; batch_size=12; block_size=64
learning_rate=1e-3; max_iters=int(os.environ.get('MAX_ITERS',2000)); lr_decay_iters=2000; min_lr=1e-4; beta2=0.99; warmup_iters=100
weight_decay=1e-1; beta1=0.9; grad_clip=1.0
t_start=time.time()
torch.manual_seed(1337)
# prepare.py: vocabulary of sorted characters, 90/10 split, uint16 files
text=open(sys.argv[1] if len(sys.argv)>1 else '../shared/data/tinyshakespeare.txt').read()
chars=sorted(set(text)); stoi={c:i for i,c in enumerate(chars)}
n=len(text); workdir=tempfile.mkdtemp(prefix='nanogpt_')
np.array([stoi[c] for c in text[:int(n*0.9)]],dtype=np.uint16).tofile(os.path.join(workdir,'train.bin'))
np.array([stoi[c] for c in text[int(n*0.9):]],dtype=np.uint16).tofile(os.path.join(workdir,'val.bin'))
c=Cfg(); c.n_layer=4; c.n_head=4; c.n_embd=128; c.block_size=64; c.bias=False; c.vocab_size=len(chars); c.dropout=0.0
def get_batch(split):
    data = np.memmap(os.path.join(workdir,'train.bin' if split=='train' else 'val.bin'), dtype=np.uint16, mode='r')
    ix = torch.randint(len(data)-block_size, (batch_size,))
    x = torch.stack([torch.from_numpy((data[i:i+block_size]).astype(np.int64)) for i in ix])
    y = torch.stack([torch.from_numpy((data[i+1:i+1+block_size]).astype(np.int64)) for i in ix])
    return x,y
model=GPT(c); optimizer=model.configure_optimizers(weight_decay, learning_rate, (beta1,beta2))
@torch.no_grad()
def estimate_loss():
    out={}; model.eval()
    for split in ['train','val']:
        losses=torch.zeros(eval_iters)
        for k in range(eval_iters):
            X,Y=get_batch(split); _,loss=model(X,Y); losses[k]=loss.item()
        out[split]=losses.mean()
    model.train(); return out
def get_lr(it):
    if it < warmup_iters: return learning_rate*it/warmup_iters
    if it > lr_decay_iters: return min_lr
    r=(it-warmup_iters)/(lr_decay_iters-warmup_iters); return min_lr+0.5*(1.0+math.cos(math.pi*r))*(learning_rate-min_lr)
X,Y=get_batch('train'); t0=time.time(); tstart=t0; local_iter_num=0; running_mfu=-1.0; iter_num=0
while True:
    lr=get_lr(iter_num)
    for g in optimizer.param_groups: g['lr']=lr
    if iter_num % eval_interval == 0:
        l=estimate_loss(); print(f"step {iter_num}: train loss {l['train']:.4f}, val loss {l['val']:.4f}")
        last_eval=(float(l['train']), float(l['val']))
    logits,loss=model(X,Y); X,Y=get_batch('train'); loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip); optimizer.step(); optimizer.zero_grad(set_to_none=True)
    t1=time.time(); dt=t1-t0; t0=t1
    if iter_num % log_interval == 0:
        lossf=loss.item()
        if local_iter_num>=5:
            mfu=model.estimate_mfu(batch_size,dt); running_mfu = mfu if running_mfu==-1.0 else 0.9*running_mfu+0.1*mfu
        print(f"iter {iter_num}: loss {lossf:.4f}, time {dt*1000:.2f}ms, mfu {running_mfu*100:.2f}%")
    iter_num+=1; local_iter_num+=1
    if iter_num > max_iters: break
print(json.dumps({"seconds": time.time()-t_start, "loop_seconds": time.time()-tstart,
                  "train_loss": last_eval[0], "val_loss": last_eval[1], "threads": torch.get_num_threads()}))
